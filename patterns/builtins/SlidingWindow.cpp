//===- SlidingWindow.cpp - The sliding-window built-in ----------*- C++ -*-===//
//
// StreamingLLM-style attention: causal & (sink | window). The paper's
// configuration is a 9-block window plus one sink block.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"

using nlohmann::json;

sieve::Builtin sieve::builtin_defs::slidingWindow() {
  Builtin b;
  b.name = "sliding_window";
  b.description = "sliding window (StreamingLLM): causal; sink and local "
                  "window blocks";
  b.params = {
      {"window_blocks", "local window, in blocks (the query's own included)",
       {9}},
      {"sink_blocks", "leading key blocks every query sees", {1}},
  };
  b.expand = [](const BuiltinArgs &a) -> json { return causalSinkWindow(a); };
  return b;
}
