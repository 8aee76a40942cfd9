//===- Dilated.cpp - The dilated-attention built-in -------------*- C++ -*-===//
//
// causal & (block distance < window) & (block distance % rate == 0): the
// paper's dilated baseline, a 20-block window with every second block.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"

using nlohmann::json;

sieve::Builtin sieve::builtin_defs::dilated() {
  Builtin b;
  b.name = "dilated";
  b.description = "dilated: causal; every rate-th key block within a window";
  b.params = {
      {"rate", "keep key blocks whose distance is a multiple of this", {2}},
      {"window_blocks", "the window, in blocks", {20}},
  };
  b.expand = [](const BuiltinArgs &a) -> json {
    return {{"intersect",
             {"causal",
              {{"dilated",
                {{"rate", a.at("rate")[0]},
                 {"window_blocks", a.at("window_blocks")[0]}}}}}}};
  };
  return b;
}
