//===- SieveTestUtils.h - Helpers shared by the unit tests ------*- C++ -*-===//

#ifndef SIEVE_TEST_UNIT_SIEVETESTUTILS_H
#define SIEVE_TEST_UNIT_SIEVETESTUTILS_H

#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "patterns/SieveJsonImporter.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <string>

namespace sieve::test {

/// Imports a JSON spec; fails the test (and returns an empty pattern) when
/// it does not import.
inline mask::Pattern importPattern(mlir::MLIRContext &ctx,
                                   const std::string &json,
                                   std::string *printed = nullptr) {
  ctx.loadDialect<SieveDialect, mlir::arith::ArithDialect>();
  SpecError error;
  auto module = importJsonSpec(json, "test.json", &ctx, error);
  EXPECT_TRUE(module) << json << "\n" << error.str();
  if (!module)
    return {};
  PatternOp op = *module->getOps<PatternOp>().begin();
  if (printed) {
    llvm::raw_string_ostream os(*printed);
    op.getBody().front().print(os);
  }
  auto pattern = buildMaskPattern(op);
  EXPECT_TRUE(mlir::succeeded(pattern));
  return mlir::succeeded(pattern) ? *pattern : mask::Pattern();
}

/// Imports a spec that must be rejected and returns "<where>: <message>".
inline std::string importError(mlir::MLIRContext &ctx,
                               const std::string &json) {
  ctx.loadDialect<SieveDialect, mlir::arith::ArithDialect>();
  SpecError error;
  auto module = importJsonSpec(json, "test.json", &ctx, error);
  EXPECT_FALSE(module) << json;
  return error.str();
}

} // namespace sieve::test

#endif // SIEVE_TEST_UNIT_SIEVETESTUTILS_H
