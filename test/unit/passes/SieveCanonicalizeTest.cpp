//===- SieveCanonicalizeTest.cpp - Canonicalization keeps meaning ---===//
//
// Random patterns from the algebra are built as IR, canonicalized, and must
// mean the same (reference evaluator, exhaustively on a small grid).
//
//===----------------------------------------------------------------------===//

#include "../SieveRandomPattern.h"
#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "passes/SievePasses.h"
#include "patterns/SievePredicateBuilder.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace sieve;

namespace {

/// Builds the IR for a plain-data pattern (the inverse of buildMaskPattern).
PatternOp buildIR(OpBuilder &b, Location loc, const mask::Pattern &p) {
  auto op = b.create<PatternOp>(loc, b.getStringAttr("p"),
                                b.getDenseI64ArrayAttr({p.blockQ, p.blockK}));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&op.getBody().emplaceBlock());
  std::vector<Value> v;
  for (const mask::Node &n : p.nodes) {
    SmallVector<Value> in;
    for (int o : n.operands)
      in.push_back(v[o]);
    Value r;
    switch (n.kind) {
    case mask::Kind::Full: r = b.create<FullOp>(loc); break;
    case mask::Kind::Causal: r = b.create<CausalOp>(loc, n.a); break;
    case mask::Kind::Sink: r = b.create<SinkOp>(loc, n.a, n.unit); break;
    case mask::Kind::Window: r = b.create<WindowOp>(loc, n.a, n.unit); break;
    case mask::Kind::Band: r = b.create<BandOp>(loc, n.a, n.b, n.unit); break;
    case mask::Kind::PowerOfTwo: r = b.create<PowerOfTwoOp>(loc); break;
    case mask::Kind::Stride: r = b.create<StrideOp>(loc, n.a); break;
    case mask::Kind::Dilated: r = b.create<DilatedOp>(loc, n.a, n.b); break;
    case mask::Kind::LongNet: r = b.create<LongNetOp>(loc, n.segments, n.ratios); break;
    case mask::Kind::Global: r = b.create<GlobalOp>(loc, n.a, n.unit); break;
    case mask::Kind::Predicate: r = buildPredicateOp(b, loc, n.predicate); break;
    case mask::Kind::Union: r = b.create<UnionOp>(loc, in); break;
    case mask::Kind::Intersect: r = b.create<IntersectOp>(loc, in); break;
    case mask::Kind::Not: r = b.create<NotOp>(loc, in[0]); break;
    }
    v.push_back(r);
  }
  b.create<YieldOp>(loc, v[p.root]);
  return op;
}
} // namespace

TEST(SieveCanonicalize, KeepsTheMeaningOfRandomPatterns) {
  MLIRContext ctx;
  ctx.loadDialect<SieveDialect, arith::ArithDialect>();
  test::RandomPattern gen(41, /*predicates=*/true);
  int simplified = 0;
  for (int i = 0; i < 1500; ++i) {
    mask::Pattern before = gen.next();
    OpBuilder b(&ctx);
    OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
    b.setInsertionPointToEnd(module->getBody());
    buildIR(b, b.getUnknownLoc(), before);
    ASSERT_TRUE(succeeded(verify(*module)));
    size_t opsBefore = 0, opsAfter = 0;
    module->walk([&](Operation *) { ++opsBefore; });

    PassManager pm(&ctx);
    pm.addNestedPass<PatternOp>(createSieveCanonicalizePass());
    pm.addNestedPass<PatternOp>(createCSEPass());
    ASSERT_TRUE(succeeded(pm.run(*module))) << "pattern " << i;
    ASSERT_TRUE(succeeded(verify(*module))) << "pattern " << i;
    module->walk([&](Operation *) { ++opsAfter; });
    simplified += opsAfter < opsBefore;

    auto after = buildMaskPattern(*module->getOps<PatternOp>().begin());
    ASSERT_TRUE(succeeded(after));
    mask::Evaluator x(before), y(*after);
    for (int64_t q = 0; q < 70; ++q)
      for (int64_t k = 0; k < 70; ++k)
        ASSERT_EQ(x(q, k), y(q, k)) << "pattern " << i << " q=" << q << " k=" << k;
  }
  // The rewrites must actually fire on random input, or this proves nothing.
  EXPECT_GT(simplified, 200);
}
