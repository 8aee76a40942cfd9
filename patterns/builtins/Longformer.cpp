//===- Longformer.cpp - The Longformer/BigBird-style built-in ---*- C++ -*-===//
//
// Bidirectional: a band of blocks around the diagonal plus global blocks at
// the start that see, and are seen by, every token (Longformer; BigBird's
// window and global parts).
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"

using nlohmann::json;

sieve::Builtin sieve::builtin_defs::longformer() {
  Builtin b;
  b.name = "longformer";
  b.description = "Longformer/BigBird-style, bidirectional: global blocks "
                  "plus a band of blocks on each side";
  b.params = {
      {"window_blocks", "blocks on each side of the query's own", {3}, false, 0},
      {"global_blocks", "leading blocks that attend and are attended globally",
       {1}},
  };
  b.expand = [](const BuiltinArgs &a) -> json {
    int64_t w = a.at("window_blocks")[0];
    return {{"union",
             {{{"global", {{"blocks", a.at("global_blocks")[0]}}}},
              {{"band", {{"min", -w}, {"max", w}, {"unit", "block"}}}}}}};
  };
  return b;
}
