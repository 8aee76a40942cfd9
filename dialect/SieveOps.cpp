//===- SieveOps.cpp - Verifiers of the pattern algebra ----------*- C++ -*-===//
//
// Every invariant that the ODS constraints cannot state is checked here, with
// a lowercase message that names the offending value, so that a spec that
// verifies has a meaning the evaluator, plans and kernels agree on.
//
//===----------------------------------------------------------------------===//

#include "dialect/SieveOps.h"
#include "dialect/SieveLimits.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

#include <cstdio>

using namespace mlir;
using namespace sieve;

#define GET_OP_CLASSES
#include "dialect/SieveOps.cpp.inc"

/// Emits "<what> must be in [lo, hi] but is <value>" unless lo <= value <= hi.
static LogicalResult checkRange(Operation *op, StringRef what, int64_t value,
                                int64_t lo, int64_t hi) {
  if (value >= lo && value <= hi)
    return success();
  return op->emitOpError() << what << " must be in [" << lo << ", " << hi
                           << "] but is " << value;
}

static LogicalResult checkCount(Operation *op, StringRef what, int64_t value) {
  return checkRange(op, what, value, 1, limits::kMaxCount);
}

//===----------------------------------------------------------------------===//
// PatternOp
//===----------------------------------------------------------------------===//

Value PatternOp::getMask() {
  return cast<YieldOp>(getBody().front().getTerminator()).getValue();
}

/// Emits an error unless `name` is an identifier (SieveLimits.h).
static LogicalResult checkName(Operation *op, StringRef what, StringRef name,
                               size_t maxLength) {
  if (limits::isIdentifier(std::string_view(name.data(), name.size()), maxLength))
    return success();
  // Quoted with escapes, so that the message itself stays printable.
  std::string quoted = "\"";
  for (char c : name) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      quoted += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "\\%02X", static_cast<unsigned char>(c));
      quoted += hex;
    }
  }
  return op->emitOpError() << what << " must be an identifier ([A-Za-z_][A-Za-z0-9_]*, "
                           << "at most " << maxLength << " characters) but is "
                           << quoted << "\"";
}

LogicalResult PatternOp::verify() {
  if (failed(checkName(*this, "name", getSymName(), limits::kMaxNameLength)))
    return failure();
  ArrayRef<int64_t> blockSize = getBlockSize();
  if (blockSize.size() != 2)
    return emitOpError() << "block_size must have 2 elements [block_q, "
                            "block_k] but has "
                         << blockSize.size();
  for (int64_t b : blockSize)
    if (failed(checkRange(*this, "block_size", b, 1, limits::kMaxBlockSize)))
      return failure();
  int64_t terms = 0, ops = 0;
  for (Operation &op : getBody().front().without_terminator()) {
    ++terms;
    op.walk([&](Operation *) { ++ops; });
  }
  if (terms > limits::kMaxPatternTerms)
    return emitOpError() << "holds " << terms << " terms; a pattern may hold at most "
                         << limits::kMaxPatternTerms;
  if (ops > limits::kMaxPatternOps)
    return emitOpError() << "holds " << ops
                         << " operations, predicate bodies included; a pattern may hold "
                            "at most "
                         << limits::kMaxPatternOps;
  Block &body = getBody().front();
  if (body.getNumArguments() != 0)
    return emitOpError() << "body must have no arguments";
  for (Operation &op : body.without_terminator()) {
    if (op.getDialect() != (*this)->getDialect() || op.getNumResults() != 1 ||
        !isa<MaskType>(op.getResult(0).getType())) {
      InFlightDiagnostic diag =
          op.emitOpError() << "pattern body may only hold ops of the pattern "
                              "algebra";
      diag.attachNote(getLoc()) << "in this pattern";
      return diag;
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// YieldOp
//===----------------------------------------------------------------------===//

LogicalResult YieldOp::verify() {
  Type type = getValue().getType();
  if (isa<PatternOp>((*this)->getParentOp()) && !isa<MaskType>(type))
    return emitOpError() << "in a pattern must yield !sieve.mask but yields "
                         << type;
  if (isa<PredicateOp>((*this)->getParentOp()) && !type.isInteger(1))
    return emitOpError() << "in a predicate must yield i1 but yields " << type;
  return success();
}

//===----------------------------------------------------------------------===//
// Leaves
//===----------------------------------------------------------------------===//

LogicalResult CausalOp::verify() {
  return checkRange(*this, "offset", getOffset(), -limits::kMaxCount,
                    limits::kMaxCount);
}

LogicalResult SinkOp::verify() { return checkCount(*this, "count", getCount()); }

LogicalResult WindowOp::verify() {
  return checkCount(*this, "count", getCount());
}

LogicalResult GlobalOp::verify() {
  return checkCount(*this, "count", getCount());
}

LogicalResult StrideOp::verify() {
  return checkCount(*this, "blocks", getBlocks());
}

LogicalResult BandOp::verify() {
  if (failed(checkRange(*this, "min", getMin(), -limits::kMaxCount,
                        limits::kMaxCount)) ||
      failed(checkRange(*this, "max", getMax(), -limits::kMaxCount,
                        limits::kMaxCount)))
    return failure();
  if (getMin() > getMax())
    return emitOpError() << "min (" << getMin()
                         << ") must not exceed max (" << getMax() << ")";
  return success();
}

LogicalResult DilatedOp::verify() {
  if (failed(checkCount(*this, "rate", getRate())))
    return failure();
  return checkCount(*this, "window", getWindowBlocks());
}

LogicalResult LongNetOp::verify() {
  ArrayRef<int64_t> segments = getSegments(), ratios = getRatios();
  if (segments.empty())
    return emitOpError() << "needs at least one segment";
  if (segments.size() != ratios.size())
    return emitOpError() << "has " << segments.size() << " segments but "
                         << ratios.size() << " ratios";
  for (auto [s, r] : llvm::zip(segments, ratios)) {
    if (failed(checkCount(*this, "segment", s)) ||
        failed(checkCount(*this, "ratio", r)))
      return failure();
    if ((r & (r - 1)) != 0)
      return emitOpError() << "ratio must be a power of two but is " << r;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// PredicateOp
//===----------------------------------------------------------------------===//

void PredicateOp::build(OpBuilder &builder, OperationState &state) {
  Region *body = state.addRegion();
  Type i64 = builder.getI64Type();
  Block *block = new Block();
  body->push_back(block);
  for (int i = 0; i < 4; ++i)
    block->addArgument(i64, state.location);
  state.addTypes(MaskType::get(builder.getContext()));
}

void PredicateOp::getAsmBlockArgumentNames(Region &region,
                                           OpAsmSetValueNameFn setNameFn) {
  static const char *const names[] = {"q", "k", "qb", "kb"};
  for (auto [arg, name] : llvm::zip(region.getArguments(), names))
    setNameFn(arg, name);
}

Value PredicateOp::getCondition() {
  return cast<YieldOp>(getBody().front().getTerminator()).getValue();
}

/// Whether `op` is one of the arith ops whose meaning SieveExpr.h defines.
static bool isSupportedPredicateOp(Operation *op) {
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    if (!cmp.getLhs().getType().isInteger(64))
      return false;
    using P = arith::CmpIPredicate;
    P p = cmp.getPredicate();
    return p == P::eq || p == P::ne || p == P::slt || p == P::sle ||
           p == P::sgt || p == P::sge;
  }
  if (auto ext = dyn_cast<arith::ExtUIOp>(op))
    return ext.getIn().getType().isInteger(1) &&
           ext.getType().isInteger(64);
  // Bitwise ops agree on i1 and i64 (values are 0 or 1); arithmetic on i1
  // would wrap modulo 2, which the 64-bit expression semantics do not.
  if (isa<arith::ConstantOp, arith::AndIOp, arith::OrIOp, arith::XOrIOp>(op))
    return true;
  return isa<arith::AddIOp, arith::SubIOp, arith::MulIOp, arith::DivSIOp,
             arith::RemSIOp, arith::ShLIOp, arith::ShRSIOp>(op) &&
         op->getResult(0).getType().isInteger(64);
}

LogicalResult PredicateOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != 4 ||
      llvm::any_of(body.getArgumentTypes(),
                   [](Type t) { return !t.isInteger(64); }))
    return emitOpError()
           << "body must take four i64 arguments (q, k, qb, kb)";
  for (Operation &op : body.without_terminator()) {
    if (!isSupportedPredicateOp(&op)) {
      InFlightDiagnostic diag =
          op.emitOpError() << "is not supported in a sieve.predicate body";
      diag.attachNote(getLoc()) << "in this predicate";
      return diag;
    }
    for (Type t : op.getResultTypes())
      if (!t.isInteger(64) && !t.isInteger(1))
        return op.emitOpError() << "must produce i64 or i1 in a predicate "
                                   "body but produces "
                                << t;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// PlanOp
//===----------------------------------------------------------------------===//

LogicalResult PlanOp::verify() {
  // Room for the pattern's name and a suffix such as "_transposed".
  constexpr size_t kMaxPlanName = limits::kMaxNameLength + 32;
  if (failed(checkName(*this, "name", getSymName(), kMaxPlanName)) ||
      failed(checkName(*this, "pattern", getPattern(), limits::kMaxNameLength)))
    return failure();
  ArrayRef<int64_t> tile = getTile();
  if (tile.size() != 2)
    return emitOpError() << "tile must have 2 elements [tile_q, tile_k] but has "
                         << tile.size();
  for (int64_t t : tile)
    if (failed(checkRange(*this, "tile", t, 1, limits::kMaxBlockSize)))
      return failure();
  bool fallback = llvm::any_of(getGenerators(), [](Attribute a) {
    return cast<GeneratorAttr>(a).getKind() == GeneratorKind::fallback;
  });
  if (fallback != (getWalk() == Walk::fallback))
    return emitOpError() << "walk must be "
                         << (fallback ? "fallback" : "closed_form")
                         << (fallback ? " when a generator is"
                                      : " when no generator is")
                         << " fallback";
  return success();
}

LogicalResult PlanOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  if (!symbolTable.lookupNearestSymbolFrom<PatternOp>(*this, getPatternAttr()))
    return emitOpError() << "refers to " << getPatternAttr()
                         << ", which is not a sieve.pattern";
  return success();
}

//===----------------------------------------------------------------------===//
// Combinators
//===----------------------------------------------------------------------===//

LogicalResult UnionOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one operand";
  return success();
}

LogicalResult IntersectOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one operand";
  return success();
}
