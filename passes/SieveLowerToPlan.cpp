//===- SieveLowerToPlan.cpp - Patterns to walks over tiles ------*- C++ -*-===//

#include "dialect/SieveMaskFromIR.h"
#include "passes/SievePasses.h"
#include "passes/SievePlanner.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"

namespace sieve {
#define GEN_PASS_DEF_SIEVELOWERTOPLANPASS
#include "passes/Passes.h.inc"
} // namespace sieve

using namespace mlir;
using namespace sieve;

namespace {
struct SieveLowerToPlanPass
    : sieve::impl::SieveLowerToPlanPassBase<SieveLowerToPlanPass> {
  using SieveLowerToPlanPassBase::SieveLowerToPlanPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (tileQ < 1 || tileK < 1) {
      module.emitError() << "sieve-lower-to-plan: tile-q and tile-k must be "
                            "positive, got "
                         << int64_t(tileQ) << " and " << int64_t(tileK);
      return signalPassFailure();
    }
    SymbolTable symbols(module);
    for (PatternOp pattern : llvm::make_early_inc_range(module.getOps<PatternOp>()))
      if (failed(lower(pattern, symbols)))
        return signalPassFailure();
  }

  LogicalResult lower(PatternOp pattern, SymbolTable &symbols) {
    FailureOr<mask::Pattern> m = buildMaskPattern(pattern);
    if (failed(m))
      return failure();
    // Generators depend on the pattern alone, not on lengths.
    MLIRContext *ctx = &getContext();
    SmallVector<Attribute> gens;
    for (auto [kind, g] : plan::generators(*m))
      gens.push_back(GeneratorAttr::get(ctx, mask::kindName(kind), g));
    Walk walk = plan::isClosedForm(*m) ? Walk::closed_form : Walk::fallback;

    auto planName = [&](Direction dir) {
      return (pattern.getSymName() + "_" + stringifyDirection(dir)).str();
    };
    // Replace earlier plans (erased before the builder points into the block).
    for (Direction dir : {Direction::forward, Direction::transposed})
      if (Operation *old = symbols.lookup(planName(dir)))
        symbols.erase(old);
    OpBuilder b(ctx);
    b.setInsertionPointAfter(pattern);
    for (Direction dir : {Direction::forward, Direction::transposed}) {
      if (dir == Direction::transposed && !transposed)
        continue;
      std::string name = planName(dir);
      int64_t tile[] = {tileQ, tileK};
      auto plan = b.create<PlanOp>(pattern.getLoc(), name, pattern.getSymName(),
                                   tile, dir, walk, b.getArrayAttr(gens));
      symbols.insert(plan, b.getInsertionPoint());
      b.setInsertionPointAfter(plan);
    }
    return success();
  }
};
} // namespace
