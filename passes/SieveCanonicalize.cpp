//===- SieveCanonicalize.cpp - Simplification of the algebra ----*- C++ -*-===//
//
// Small rewrites, each preserving the reference semantics; the greedy driver
// applies them with folding (which also folds arith ops inside predicates)
// until nothing changes. Only folding touches predicate bodies: arith's
// canonicalization patterns may create ops a predicate does not allow.
//
//===----------------------------------------------------------------------===//

#include "passes/SievePasses.h"
#include "dialect/SieveLimits.h"
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

/// Tokens of a count in `unit` (blocks of `block` tokens).
static int64_t tokens(int64_t count, Unit unit, int64_t block) {
  return unit == Unit::block ? count * block : count;
}

namespace {
/// What implies() needs to know of one operand, read from its op once.
struct Term {
  enum Kind { Full, Empty, Sink, Global, Causal, Stride, Window, Band, Dilated,
              PowerOfTwo, Other };
  Kind kind = Other;
  Unit unit = Unit::block;
  /// Window, band, dilated: the distances [lo, hi] in `unit`.
  int64_t lo = 0, hi = 0;
  /// Sink: tokens; global: count; causal: offset; stride: blocks; dilated:
  /// rate.
  int64_t n = 0;

  bool isInterval() const { return kind == Window || kind == Band || kind == Dilated; }
  /// Whether implies() can hold against another term of this kind other
  /// than through full and the empty mask.
  bool isComparable() const { return kind != Full && kind != Empty && kind != Other; }
};
} // namespace

/// Describes `v`; `bk` is the key block size.
static Term describe(Value v, int64_t bk) {
  Term t;
  Operation *op = v.getDefiningOp();
  if (isFull(v))
    t.kind = Term::Full;
  else if (isEmpty(v))
    t.kind = Term::Empty;
  else if (auto s = dyn_cast_or_null<SinkOp>(op))
    t.kind = Term::Sink, t.n = tokens(s.getCount(), s.getUnit(), bk);
  else if (auto g = dyn_cast_or_null<GlobalOp>(op))
    t.kind = Term::Global, t.unit = g.getUnit(), t.n = g.getCount();
  else if (auto c = dyn_cast_or_null<CausalOp>(op))
    t.kind = Term::Causal, t.n = c.getOffset();
  else if (auto s = dyn_cast_or_null<StrideOp>(op))
    t.kind = Term::Stride, t.n = s.getBlocks();
  else if (auto w = dyn_cast_or_null<WindowOp>(op))
    t.kind = Term::Window, t.lo = 0, t.hi = w.getCount() - 1, t.unit = w.getUnit();
  else if (auto b = dyn_cast_or_null<BandOp>(op))
    t.kind = Term::Band, t.lo = b.getMin(), t.hi = b.getMax(), t.unit = b.getUnit();
  else if (auto d = dyn_cast_or_null<DilatedOp>(op))
    t.kind = Term::Dilated, t.lo = 0, t.hi = d.getWindowBlocks() - 1, t.n = d.getRate();
  else if (isa_and_nonnull<PowerOfTwoOp>(op))
    t.kind = Term::PowerOfTwo;
  return t;
}

/// Whether every pair `x` attends, `y` attends too (x ⊆ y), for two
/// operands that are not the same mask. Conservative: false when not sure.
static bool implies(const Term &x, const Term &y) {
  if (y.kind == Term::Full || x.kind == Term::Empty)
    return true;
  if (x.kind == y.kind && x.kind == Term::Sink)
    return x.n <= y.n;
  if (x.kind == y.kind && x.kind == Term::Global)
    return x.unit == y.unit && x.n <= y.n;
  if (x.kind == y.kind && x.kind == Term::Causal)
    return x.n <= y.n;
  if (x.kind == y.kind && x.kind == Term::Stride)
    return x.n % y.n == 0;
  // Distance sets [lo, hi] in a unit: windows and bands.
  if ((y.kind == Term::Window || y.kind == Term::Band) && x.isInterval())
    return x.unit == y.unit && y.lo <= x.lo && x.hi <= y.hi;
  if (x.kind == Term::Dilated) {
    if (y.kind == Term::Dilated)
      return x.n % y.n == 0 && x.hi <= y.hi;
    if (y.kind == Term::Stride)
      return x.n % y.n == 0;
  }
  // Block distances 0, 1, 2 are all powers of two (0 included).
  if (y.kind == Term::PowerOfTwo && x.isInterval() && x.unit == Unit::block)
    return x.lo >= 0 && x.hi <= 2;
  // Token distances >= -offset are causal(offset).
  if (y.kind == Term::Causal)
    return x.isInterval() && x.unit == Unit::token && x.lo >= -y.n;
  return false;
}

static int64_t keyBlockSize(Operation *op) {
  auto pattern = op->getParentOfType<PatternOp>();
  return pattern ? pattern.getBlockK() : 1;
}

/// Whether every user of `op` is an op of the same kind, which flattens `op`
/// into itself: rewriting `op` first would be wasted work, and on a chain of
/// n ops it makes the pass cubic in n.
template <typename OpTy> static bool absorbedByUsers(OpTy op) {
  return !op->use_empty() &&
         llvm::all_of(op->getUsers(), [](Operation *user) { return isa<OpTy>(user); });
}

/// The operands without repeats: the same value, or ops of the algebra
/// without operands or regions that are identical (the first is kept).
static SmallVector<Value> withoutRepeats(ValueRange in) {
  SmallVector<Value> out;
  llvm::DenseSet<Value> values;
  llvm::DenseSet<std::pair<void *, const void *>> leaves;
  for (Value v : in) {
    if (!values.insert(v).second)
      continue;
    Operation *op = v.getDefiningOp();
    if (op && !op->getNumOperands() && !op->getNumRegions() &&
        !leaves.insert({op->getName().getAsOpaquePointer(),
                        op->getAttrDictionary().getAsOpaquePointer()})
             .second)
      continue;
    out.push_back(v);
  }
  return out;
}

/// The operands of a union (`isUnion`) or an intersection that no other
/// operand makes redundant: in a union, x is redundant if x ⊆ y for another
/// y; in an intersection if y ⊆ x. Ties (equal sets) keep the first. Only
/// comparable leaves are compared, each read once.
static SmallVector<Value> withoutImplied(ArrayRef<Value> in, int64_t bk, bool isUnion) {
  SmallVector<Term> terms;
  for (Value v : in)
    terms.push_back(describe(v, bk));
  SmallVector<Value> kept;
  for (size_t i = 0; i < in.size(); ++i) {
    bool redundant = false;
    for (size_t j = 0; j < in.size() && !redundant && terms[i].isComparable(); ++j) {
      if (i == j || !terms[j].isComparable())
        continue;
      const Term &x = terms[i], &y = terms[j];
      bool sub = isUnion ? implies(x, y) : implies(y, x);
      bool equal = sub && (isUnion ? implies(y, x) : implies(x, y));
      redundant = sub && (!equal || j < i);
    }
    if (!redundant)
      kept.push_back(in[i]);
  }
  return kept;
}

namespace {
/// union(a, union(b, c)) -> union(a, b, c); likewise intersect. Applied at
/// the outermost op of a nest, it flattens the whole nest at once.
template <typename OpTy> struct Flatten : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &r) const override {
    if (absorbedByUsers(op))
      return r.notifyMatchFailure(op, "its users flatten it");
    SmallVector<Value> inputs, stack(llvm::reverse(op.getInputs()));
    llvm::SmallPtrSet<Operation *, 16> expanded;
    bool changed = false;
    // Depth first, left to right; a nested op shared by several operands is
    // expanded once (the operators are idempotent).
    while (!stack.empty()) {
      Value v = stack.pop_back_val();
      auto inner = v.template getDefiningOp<OpTy>();
      if (!inner) {
        inputs.push_back(v);
        continue;
      }
      changed = true;
      if (expanded.insert(inner).second)
        llvm::append_range(stack, llvm::reverse(inner.getInputs()));
    }
    if (!changed)
      return r.notifyMatchFailure(op, "no nested operand of the same kind");
    r.replaceOpWithNewOp<OpTy>(op, inputs);
    return success();
  }
};

/// Drops repeats, identities and operands implied by others; folds
/// absorbing elements and single operands. Linear but for the pairwise
/// implication test, which only compares leaves that can imply each other.
template <typename OpTy> struct SimplifyOperands : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  static constexpr bool kUnion = std::is_same_v<OpTy, UnionOp>;

  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &r) const override {
    if (absorbedByUsers(op))
      return r.notifyMatchFailure(op, "its users flatten it");
    auto absorbing = [](Value v) { return kUnion ? isFull(v) : isEmpty(v); };
    if (auto a = llvm::find_if(op.getInputs(), absorbing); a != op.getInputs().end()) {
      r.replaceOp(op, *a);
      return success();
    }
    SmallVector<Value> in = withoutRepeats(op.getInputs());
    // The identity (full in an intersection, empty in a union) changes
    // nothing next to any other operand.
    auto identity = [](Value v) { return kUnion ? isEmpty(v) : isFull(v); };
    if (in.size() > 1 && llvm::any_of(in, [&](Value v) { return !identity(v); }))
      llvm::erase_if(in, identity);
    SmallVector<Value> kept = withoutImplied(in, keyBlockSize(op), kUnion);
    if (kept.size() == op.getInputs().size() && kept.size() > 1)
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

/// band 0 to W-1 is window W; dilated with rate 1 is a block window. Like
/// every rewrite here, it only makes ops that verify: a band up to the
/// largest distance stays a band, as its window would be one too long.
struct NormalizeWindows : RewritePattern {
  NormalizeWindows(MLIRContext *ctx)
      : RewritePattern(MatchAnyOpTypeTag(), /*benefit=*/1, ctx) {}
  LogicalResult matchAndRewrite(Operation *op, PatternRewriter &r) const override {
    if (auto band = dyn_cast<BandOp>(op);
        band && band.getMin() == 0 && band.getMax() < limits::kMaxCount) {
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
