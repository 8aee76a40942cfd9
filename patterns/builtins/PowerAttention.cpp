//===- PowerAttention.cpp - The PowerAttention built-in ---------*- C++ -*-===//
//
// arXiv 2503.03588: causal & (sink | window | power-of-two block distance).
// With the paper's defaults a query block at 32K tokens (128 blocks) sees the
// sink, 5 local blocks and the blocks 8, 16, 32 and 64 back.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"

using nlohmann::json;

sieve::Builtin sieve::builtin_defs::powerAttention() {
  Builtin b;
  b.name = "power_attention";
  b.description = "PowerAttention: causal; sink, local window and key blocks "
                  "at power-of-two block distances";
  b.params = {
      {"window_blocks", "local window, in blocks (the query's own included)",
       {5}},
      {"sink_blocks", "leading key blocks every query sees", {1}},
  };
  b.expand = [](const BuiltinArgs &a) -> json {
    return causalSinkWindow(a, {{{"power_of_two", json::object()}}});
  };
  return b;
}
