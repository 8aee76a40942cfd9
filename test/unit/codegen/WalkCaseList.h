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
  sieve::test::RandomPattern gen(kWalkSeed, /*predicates=*/true);
  for (int i = 0; i < kNumRandomWalkCases; ++i) {
    out.push_back({gen.next(), false});
  }
  return out;
}

#endif // SIEVE_TEST_UNIT_CODEGEN_WALKCASELIST_H
