//===- SievePipeline.cpp - The sieve-compile pipeline -----------*- C++ -*-===//

#include "passes/SievePasses.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void sieve::buildSieveCanonicalizePipeline(OpPassManager &pm) {
  pm.addNestedPass<PatternOp>(createSieveCanonicalizePass());
  pm.addNestedPass<PatternOp>(createCSEPass());
}

void sieve::buildSieveCompilePipeline(OpPassManager &pm,
                                      const SieveCompileOptions &options) {
  buildSieveCanonicalizePipeline(pm);
  SieveLowerToPlanPassOptions plan;
  plan.tileQ = options.tileQ;
  plan.tileK = options.tileK;
  plan.transposed = options.transposed;
  pm.addPass(createSieveLowerToPlanPass(plan));
}

void sieve::registerSievePipelines() {
  PassPipelineRegistration<SieveCompileOptions>(
      "sieve-compile",
      "Canonicalize each pattern and lower it to forward and transposed plans",
      buildSieveCompilePipeline);
}
