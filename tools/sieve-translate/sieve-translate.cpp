//===- sieve-translate.cpp - Patterns to CUDA, for lit tests ----*- C++ -*-===//

#include "codegen/SieveCodegen.h"
#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Tools/mlir-translate/MlirTranslateMain.h"
#include "mlir/Tools/mlir-translate/Translation.h"

using namespace mlir;

/// Emits, for each pattern of the module, its generated prelude (`kernel`:
/// the whole kernel source) with the default configuration for head dim 128
/// and bf16.
static LogicalResult emitCuda(ModuleOp module, llvm::raw_ostream &os, bool kernel) {
  for (sieve::PatternOp op : module.getOps<sieve::PatternOp>()) {
    FailureOr<sieve::mask::Pattern> p = sieve::buildMaskPattern(op);
    if (failed(p))
      return failure();
    auto config = sieve::codegen::defaultConfig(128, sieve::codegen::DType::BF16, *p);
    os << (kernel ? sieve::codegen::emitForwardKernel(*p, config)
                  : sieve::codegen::emitPrelude(*p, config));
  }
  return success();
}

int main(int argc, char **argv) {
  auto dialects = [](DialectRegistry &registry) {
    registry.insert<sieve::SieveDialect, arith::ArithDialect>();
  };
  TranslateFromMLIRRegistration prelude(
      "sieve-to-cuda", "emit the generated CUDA prelude of each pattern",
      [](ModuleOp m, llvm::raw_ostream &os) { return emitCuda(m, os, false); }, dialects);
  TranslateFromMLIRRegistration kernel(
      "sieve-to-cuda-kernel", "emit the whole forward kernel of each pattern",
      [](ModuleOp m, llvm::raw_ostream &os) { return emitCuda(m, os, true); }, dialects);
  return failed(mlirTranslateMain(argc, argv, "sieve translation driver"));
}
