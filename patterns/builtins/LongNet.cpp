//===- LongNet.cpp - The LongNet built-in -----------------------*- C++ -*-===//
//
// The paper's Algorithm 5: segment lengths 8..128 blocks with dilation ratios
// 1..16, intersected with causality.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"

using nlohmann::json;

static std::string validateLongNet(const sieve::BuiltinArgs &a,
                                   std::string &key) {
  const std::vector<int64_t> &segments = a.at("segments");
  const std::vector<int64_t> &ratios = a.at("ratios");
  if (segments.size() != ratios.size()) {
    key = "ratios";
    return "expected as many ratios as segments (" +
           std::to_string(segments.size()) + ") but found " +
           std::to_string(ratios.size());
  }
  for (int64_t r : ratios)
    if ((r & (r - 1)) != 0) {
      key = "ratios";
      return "expected powers of two but found " + std::to_string(r);
    }
  return "";
}

sieve::Builtin sieve::builtin_defs::longNet() {
  Builtin b;
  b.name = "longnet";
  b.description = "LongNet: causal; segmented dilated attention (paper's "
                  "Algorithm 5, block units)";
  b.params = {
      {"segments", "segment lengths, in blocks", {8, 16, 32, 64, 128}, true},
      {"ratios", "dilation ratio of each segment (powers of two)",
       {1, 2, 4, 8, 16}, true},
  };
  b.expand = [](const BuiltinArgs &a) -> json {
    return {{"intersect",
             {"causal",
              {{"longnet",
                {{"segments", a.at("segments")},
                 {"ratios", a.at("ratios")}}}}}}};
  };
  b.validate = validateLongNet;
  return b;
}
