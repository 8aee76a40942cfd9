//===- Dense.cpp - The dense built-ins: causal and full ---------*- C++ -*-===//
//
// The references every sparse pattern is compared with: dense causal
// attention (the paper's "full attention") and bidirectional full attention.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"

sieve::Builtin sieve::builtin_defs::causal() {
  Builtin b;
  b.name = "causal";
  b.description = "dense causal attention: every key at or before the query";
  b.expand = [](const BuiltinArgs &) -> nlohmann::json { return "causal"; };
  return b;
}

sieve::Builtin sieve::builtin_defs::full() {
  Builtin b;
  b.name = "full";
  b.description = "dense bidirectional attention: every key";
  b.expand = [](const BuiltinArgs &) -> nlohmann::json { return "full"; };
  return b;
}
