//===- SieveBuiltins.cpp - The library of built-in patterns -----*- C++ -*-===//

#include "patterns/SieveBuiltins.h"

using namespace sieve;

BuiltinArgs Builtin::defaults() const {
  BuiltinArgs args;
  for (const BuiltinParam &p : params)
    args[p.name] = p.defaults;
  return args;
}

nlohmann::json sieve::causalSinkWindow(const BuiltinArgs &a,
                                       std::vector<nlohmann::json> extra) {
  using nlohmann::json;
  json terms = json::array({json{{"sink", {{"blocks", a.at("sink_blocks")[0]}}}},
                            json{{"window", {{"blocks", a.at("window_blocks")[0]}}}}});
  for (json &e : extra)
    terms.push_back(std::move(e));
  return json{{"intersect", json::array({"causal", json{{"union", terms}}})}};
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
