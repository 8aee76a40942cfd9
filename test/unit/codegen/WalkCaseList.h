//===- WalkCaseList.h - The patterns behind the walk cases ------*- C++ -*-===//
//
// Shared by the generator (at build time) and the test (at run time), so both
// see the same patterns in the same order.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_TEST_UNIT_CODEGEN_WALKCASELIST_H
#define SIEVE_TEST_UNIT_CODEGEN_WALKCASELIST_H

#include "../SieveRandomPattern.h"
#include "WalkCases.h"
#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "patterns/SieveBuiltins.h"
#include "patterns/SieveJsonImporter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

struct WalkCasePattern {
  sieve::mask::Pattern pattern;
  bool builtin;
};

constexpr const char *kEdgeSpecs[] = {
    R"({"block_size": 4, "mask": {"intersect": ["causal", {"longnet": {"segments": [16777216], "ratios": [1]}}]}})",
    R"({"block_size": 4, "mask": {"intersect": ["causal", {"longnet": {"segments": [268435456, 1099511627776], "ratios": [1, 2]}}]}})",
    R"({"block_size": 2, "mask": {"union": [{"stride": {"blocks": 1099511627776}}, {"dilated": {"rate": 1, "window_blocks": 1099511627776}}]}})",
    R"({"block_size": 8, "mask": {"band": {"min": -1099511627776, "max": 1099511627776, "unit": "token"}}})",
    R"({"block_size": 8, "mask": {"causal": {"offset": 1073741823}}})",
    R"({"block_size": 8, "mask": {"intersect": [{"causal": {"offset": -1073741823}}, {"window": {"tokens": 2147483647}}]}})",
};
constexpr int kNumEdgeWalkCases = sizeof(kEdgeSpecs) / sizeof(kEdgeSpecs[0]);

inline std::vector<WalkCasePattern> walkCasePatterns() {
  std::vector<WalkCasePattern> out;
  mlir::MLIRContext ctx;
  ctx.loadDialect<sieve::SieveDialect, mlir::arith::ArithDialect>();
  for (const sieve::Builtin &b : sieve::builtins()) {
    for (long long block : {8, 16}) {
      sieve::SpecError err;
      auto module = sieve::importJsonSpec(
          "{\"builtin\": \"" + b.name + "\", \"block_size\": " + std::to_string(block) + "}",
          "case", &ctx, err);
      auto p = sieve::buildMaskPattern(*module->getOps<sieve::PatternOp>().begin());
      out.push_back({*p, true});
    }
  }
  // Parameters at the limits: every generated loop must stay bounded by the
  // lengths (a LongNet segment of 2^24 blocks once took 110 s for 4096
  // tokens), and 32-bit masks must stay exact near 2^31.
  for (const char *spec : kEdgeSpecs) {
    sieve::SpecError err;
    auto module = sieve::importJsonSpec(spec, "edge", &ctx, err);
    out.push_back({*sieve::buildMaskPattern(*module->getOps<sieve::PatternOp>().begin()), false});
  }
  sieve::test::RandomPattern gen(kWalkSeed, /*predicates=*/true);
  for (int i = 0; i < kNumRandomWalkCases; ++i) {
    out.push_back({gen.next(), false});
  }
  return out;
}

#endif // SIEVE_TEST_UNIT_CODEGEN_WALKCASELIST_H
