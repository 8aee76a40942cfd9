//===- SieveBuiltins.cpp - The library of built-in patterns -----*- C++ -*-===//

#include "patterns/SieveBuiltins.h"

using namespace sieve;

BuiltinArgs Builtin::defaults() const {
  BuiltinArgs args;
  for (const BuiltinParam &p : params)
    args[p.name] = p.defaults;
  return args;
}

const std::vector<Builtin> &sieve::builtins() {
  // Built on first use rather than by static initialisers, so that the order
  // is explicit and nothing runs before main.
  static const std::vector<Builtin> all = {
      builtin_defs::powerAttention(), builtin_defs::slidingWindow(),
      builtin_defs::strideSlash(),    builtin_defs::dilated(),
      builtin_defs::longNet(),        builtin_defs::causal(),
      builtin_defs::full(),           builtin_defs::longformer(),
  };
  return all;
}

const Builtin *sieve::findBuiltin(std::string_view name) {
  for (const Builtin &b : builtins())
    if (b.name == name)
      return &b;
  return nullptr;
}

std::string sieve::builtinNames() {
  std::string out;
  for (const Builtin &b : builtins())
    out += (out.empty() ? "" : ", ") + b.name;
  return out;
}
