//===- sieve-opt.cpp - The lit driver for the sieve dialect -----*- C++ -*-===//

#include "dialect/SieveDialect.h"
#include "passes/SievePasses.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<sieve::SieveDialect, mlir::arith::ArithDialect>();
  sieve::registerSievePasses();
  sieve::registerSievePipelines();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "sieve optimizer driver\n", registry));
}
