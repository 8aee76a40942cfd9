//===- SieveCanonicalize.cpp - Simplification of the algebra ----*- C++ -*-===//
//
// Small rewrites, each preserving the reference semantics; the greedy driver
// applies them with folding (which also folds arith ops inside predicates)
// until nothing changes. Only folding touches predicate bodies: arith's
// canonicalization patterns may create ops a predicate does not allow.
//
//===----------------------------------------------------------------------===//

#include "passes/SievePasses.h"
#include "dialect/SieveOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace sieve {
#define GEN_PASS_DEF_SIEVECANONICALIZEPASS
#include "passes/Passes.h.inc"
} // namespace sieve

using namespace mlir;
using namespace sieve;

static bool isFull(Value v) { return v.getDefiningOp<FullOp>() != nullptr; }
static bool isEmpty(Value v) {
  auto n = v.getDefiningOp<NotOp>();
  return n && isFull(n.getInput());
}
static Value makeEmpty(PatternRewriter &r, Location loc) {
  return r.create<NotOp>(loc, r.create<FullOp>(loc));
}

/// Same value, or ops of the algebra without regions that are identical.
static bool sameMask(Value a, Value b) {
  if (a == b)
    return true;
  Operation *x = a.getDefiningOp(), *y = b.getDefiningOp();
  if (!x || !y || x->getNumRegions() || y->getNumRegions() ||
      x->getNumOperands() || y->getNumOperands())
    return false;
  return OperationEquivalence::isEquivalentTo(
      x, y, OperationEquivalence::IgnoreLocations);
}

/// Tokens of a count in `unit` (blocks of `block` tokens).
static int64_t tokens(int64_t count, Unit unit, int64_t block) {
  return unit == Unit::block ? count * block : count;
}

/// Whether every pair `a` attends, `b` attends too (a ⊆ b). Conservative:
/// false when not sure. `bk` is the key block size.
static bool implies(Value a, Value b, int64_t bk) {
  if (isFull(b) || isEmpty(a) || sameMask(a, b))
    return true;
  Operation *x = a.getDefiningOp(), *y = b.getDefiningOp();
  if (!x || !y)
    return false;
  if (auto s = dyn_cast<SinkOp>(x))
    if (auto t = dyn_cast<SinkOp>(y))
      return tokens(s.getCount(), s.getUnit(), bk) <=
             tokens(t.getCount(), t.getUnit(), bk);
  if (auto s = dyn_cast<GlobalOp>(x))
    if (auto t = dyn_cast<GlobalOp>(y))
      return s.getUnit() == t.getUnit() && s.getCount() <= t.getCount();
  if (auto s = dyn_cast<CausalOp>(x))
    if (auto t = dyn_cast<CausalOp>(y))
      return s.getOffset() <= t.getOffset();
  if (auto s = dyn_cast<StrideOp>(x))
    if (auto t = dyn_cast<StrideOp>(y))
      return s.getBlocks() % t.getBlocks() == 0;
  // Distance sets [lo, hi] in a unit: windows and bands.
  auto interval = [](Operation *op, int64_t &lo, int64_t &hi, Unit &unit) {
    if (auto w = dyn_cast<WindowOp>(op))
      return lo = 0, hi = w.getCount() - 1, unit = w.getUnit(), true;
    if (auto band = dyn_cast<BandOp>(op))
      return lo = band.getMin(), hi = band.getMax(), unit = band.getUnit(), true;
    if (auto d = dyn_cast<DilatedOp>(op))
      return lo = 0, hi = d.getWindowBlocks() - 1, unit = Unit::block, true;
    return false;
  };
  int64_t alo, ahi, blo, bhi;
  Unit au, bu;
  bool aInterval = interval(x, alo, ahi, au);
  if (isa<DilatedOp, WindowOp, BandOp>(y) && !isa<DilatedOp>(y) && aInterval &&
      interval(y, blo, bhi, bu))
    return au == bu && blo <= alo && ahi <= bhi;
  if (auto d = dyn_cast<DilatedOp>(x)) {
    if (auto e = dyn_cast<DilatedOp>(y))
      return d.getRate() % e.getRate() == 0 &&
             d.getWindowBlocks() <= e.getWindowBlocks();
    if (auto s = dyn_cast<StrideOp>(y))
      return d.getRate() % s.getBlocks() == 0;
  }
  // Block distances 0, 1, 2 are all powers of two (0 included).
  if (isa<PowerOfTwoOp>(y) && aInterval && au == Unit::block)
    return alo >= 0 && ahi <= 2;
  // Token distances >= -offset are causal(offset).
  if (auto c = dyn_cast<CausalOp>(y))
    return aInterval && au == Unit::token && alo >= -c.getOffset();
  return false;
}

static int64_t keyBlockSize(Operation *op) {
  auto pattern = op->getParentOfType<PatternOp>();
  return pattern ? pattern.getBlockK() : 1;
}

namespace {
/// union(a, union(b, c)) -> union(a, b, c); likewise intersect.
template <typename OpTy> struct Flatten : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &r) const override {
    SmallVector<Value> inputs;
    bool changed = false;
    for (Value v : op.getInputs()) {
      if (auto inner = v.template getDefiningOp<OpTy>()) {
        llvm::append_range(inputs, inner.getInputs());
        changed = true;
      } else {
        inputs.push_back(v);
      }
    }
    if (!changed)
      return r.notifyMatchFailure(op, "no nested operand of the same kind");
    r.replaceOpWithNewOp<OpTy>(op, inputs);
    return success();
  }
};

/// Drops duplicates, identities and operands implied by others; folds
/// absorbing elements and single operands.
template <typename OpTy> struct SimplifyOperands : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  static constexpr bool kUnion = std::is_same_v<OpTy, UnionOp>;

  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &r) const override {
    SmallVector<Value> in(op.getInputs());
    auto absorbing = [](Value v) { return kUnion ? isFull(v) : isEmpty(v); };
    if (auto a = llvm::find_if(in, absorbing); a != in.end()) {
      r.replaceOp(op, *a);
      return success();
    }
    int64_t bk = keyBlockSize(op);
    SmallVector<Value> kept;
    for (size_t i = 0; i < in.size(); ++i) {
      // In a union, x is redundant if x ⊆ y for another kept-or-later y; in
      // an intersection if y ⊆ x. Ties (equal sets) keep the first.
      bool redundant = false;
      for (size_t j = 0; j < in.size() && !redundant; ++j) {
        if (i == j)
          continue;
        bool sub = kUnion ? implies(in[i], in[j], bk) : implies(in[j], in[i], bk);
        bool equal = sub && (kUnion ? implies(in[j], in[i], bk) : implies(in[i], in[j], bk));
        redundant = sub && (!equal || j < i);
      }
      if (!redundant)
        kept.push_back(in[i]);
    }
    if (kept.size() == in.size() && kept.size() > 1)
      return r.notifyMatchFailure(op, "no operand to drop");
    r.replaceOp(op, kept.size() == 1 ? kept[0]
                                     : r.create<OpTy>(op.getLoc(), kept).getResult());
    return success();
  }
};

struct DoubleNegation : OpRewritePattern<NotOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(NotOp op, PatternRewriter &r) const override {
    auto inner = op.getInput().getDefiningOp<NotOp>();
    if (!inner)
      return r.notifyMatchFailure(op, "operand is not a negation");
    r.replaceOp(op, inner.getInput());
    return success();
  }
};

/// A predicate whose body folded to a constant is full or empty.
struct ConstantPredicate : OpRewritePattern<PredicateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PredicateOp op, PatternRewriter &r) const override {
    APInt value;
    if (!matchPattern(op.getCondition(), m_ConstantInt(&value)))
      return r.notifyMatchFailure(op, "condition is not constant");
    if (value.isZero())
      r.replaceOp(op, makeEmpty(r, op.getLoc()));
    else
      r.replaceOpWithNewOp<FullOp>(op);
    return success();
  }
};

/// band 0 to W-1 is window W; dilated with rate 1 is a block window.
struct NormalizeWindows : RewritePattern {
  NormalizeWindows(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &r) const override {
    if (auto band = dyn_cast<BandOp>(op); band && band.getMin() == 0) {
      r.replaceOpWithNewOp<WindowOp>(op, band.getMax() + 1, band.getUnit());
      return success();
    }
    if (auto d = dyn_cast<DilatedOp>(op); d && d.getRate() == 1) {
      r.replaceOpWithNewOp<WindowOp>(op, d.getWindowBlocks(), Unit::block);
      return success();
    }
    return failure();
  }
};

/// Token sinks and globals that are whole blocks are written in blocks.
struct NormalizeUnits : RewritePattern {
  NormalizeUnits(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &r) const override {
    auto pattern = op->getParentOfType<PatternOp>();
    if (!pattern)
      return failure();
    int64_t bq = pattern.getBlockQ(), bk = pattern.getBlockK();
    if (auto s = dyn_cast<SinkOp>(op);
        s && s.getUnit() == Unit::token && s.getCount() % bk == 0) {
      r.replaceOpWithNewOp<SinkOp>(op, s.getCount() / bk, Unit::block);
      return success();
    }
    if (auto g = dyn_cast<GlobalOp>(op); g && g.getUnit() == Unit::token &&
                                         bq == bk && g.getCount() % bk == 0) {
      r.replaceOpWithNewOp<GlobalOp>(op, g.getCount() / bk, Unit::block);
      return success();
    }
    return failure();
  }
};

struct SieveCanonicalizePass
    : sieve::impl::SieveCanonicalizePassBase<SieveCanonicalizePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateSieveCanonicalizationPatterns(patterns);
    if (failed(applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace

void sieve::populateSieveCanonicalizationPatterns(RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<Flatten<UnionOp>, Flatten<IntersectOp>, SimplifyOperands<UnionOp>,
               SimplifyOperands<IntersectOp>, DoubleNegation, ConstantPredicate,
               NormalizeWindows, NormalizeUnits>(ctx);
}
