//===- StrideSlash.cpp - The stride-slash built-in --------------*- C++ -*-===//
//
// causal & (sink | window | block distance a multiple of the stride): the
// paper's "stride slash" baseline, window 6 blocks and a slash every 32.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"

using nlohmann::json;

sieve::Builtin sieve::builtin_defs::strideSlash() {
  Builtin b;
  b.name = "stride_slash";
  b.description = "stride slash: causal; sink, local window and key blocks "
                  "at multiples of a block stride";
  b.params = {
      {"window_blocks", "local window, in blocks (the query's own included)",
       {6}},
      {"sink_blocks", "leading key blocks every query sees", {1}},
      {"stride_blocks", "block distance between slashes", {32}},
  };
  b.expand = [](const BuiltinArgs &a) -> json {
    return causalSinkWindow(a, {{{"stride", {{"blocks", a.at("stride_blocks")[0]}}}}});
  };
  return b;
}
