//===- SievePasses.h - Passes and pipelines of sieve ------------*- C++ -*-===//

#ifndef SIEVE_PASSES_SIEVEPASSES_H
#define SIEVE_PASSES_SIEVEPASSES_H

#include "dialect/SieveOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir {
class RewritePatternSet;
} // namespace mlir

namespace sieve {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

/// The rewrites of sieve-canonicalize.
void populateSieveCanonicalizationPatterns(mlir::RewritePatternSet &patterns);

/// Options of the sieve-compile pipeline.
struct SieveCompileOptions
    : public mlir::PassPipelineOptions<SieveCompileOptions> {
  Option<int64_t> tileQ{*this, "tile-q", llvm::cl::desc("Tile size along queries"),
                        llvm::cl::init(128)};
  Option<int64_t> tileK{*this, "tile-k", llvm::cl::desc("Tile size along keys"),
                        llvm::cl::init(128)};
  Option<bool> transposed{*this, "transposed",
                          llvm::cl::desc("Also derive the transposed plans"),
                          llvm::cl::init(true)};
};

/// sieve-canonicalize and cse on every pattern: its canonical form, the one
/// the kernel cache key holds.
void buildSieveCanonicalizePipeline(mlir::OpPassManager &pm);

/// The canonicalize pipeline, then sieve-lower-to-plan: a pattern to its plans.
void buildSieveCompilePipeline(mlir::OpPassManager &pm,
                               const SieveCompileOptions &options);

/// Registers `sieve-compile` (once; used by sieve-opt and the CLI alike).
void registerSievePipelines();

} // namespace sieve

#endif // SIEVE_PASSES_SIEVEPASSES_H
