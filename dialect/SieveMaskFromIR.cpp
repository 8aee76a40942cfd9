//===- SieveMaskFromIR.cpp - From a sieve.pattern to its meaning -*- C++ -*-===//

#include "dialect/SieveMaskFromIR.h"
#include "dialect/SieveOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace sieve;

static std::optional<expr::OpKind> binaryKind(Operation *op) {
  using K = expr::OpKind;
  if (auto cmp = dyn_cast<arith::CmpIOp>(op)) {
    switch (cmp.getPredicate()) {
    case arith::CmpIPredicate::eq: return K::Eq;
    case arith::CmpIPredicate::ne: return K::Ne;
    case arith::CmpIPredicate::slt: return K::Lt;
    case arith::CmpIPredicate::sle: return K::Le;
    case arith::CmpIPredicate::sgt: return K::Gt;
    case arith::CmpIPredicate::sge: return K::Ge;
    default: return std::nullopt;
    }
  }
  return llvm::TypeSwitch<Operation *, std::optional<K>>(op)
      .Case([](arith::AddIOp) { return K::Add; })
      .Case([](arith::SubIOp) { return K::Sub; })
      .Case([](arith::MulIOp) { return K::Mul; })
      .Case([](arith::DivSIOp) { return K::Div; })
      .Case([](arith::RemSIOp) { return K::Rem; })
      .Case([](arith::AndIOp) { return K::And; })
      .Case([](arith::OrIOp) { return K::Or; })
      .Case([](arith::XOrIOp) { return K::Xor; })
      .Case([](arith::ShLIOp) { return K::Shl; })
      .Case([](arith::ShRSIOp) { return K::Shr; })
      .Default([](Operation *) { return std::nullopt; });
}

/// Translates a predicate body into an expression DAG in block order.
static FailureOr<expr::Expr> buildPredicate(PredicateOp op) {
  expr::Expr e;
  llvm::DenseMap<Value, int> index;
  auto push = [&](expr::Node node) {
    e.nodes.push_back(node);
    return static_cast<int>(e.nodes.size()) - 1;
  };
  Block &body = op.getBody().front();
  const expr::Var vars[] = {expr::Var::Q, expr::Var::K, expr::Var::QB,
                            expr::Var::KB};
  for (auto [arg, var] : llvm::zip(body.getArguments(), vars)) {
    expr::Node n{};
    n.kind = expr::OpKind::Var;
    n.var = var;
    index[arg] = push(n);
  }
  for (Operation &inner : body.without_terminator()) {
    expr::Node n{};
    if (auto c = dyn_cast<arith::ConstantOp>(inner)) {
      n.kind = expr::OpKind::Const;
      n.value = cast<IntegerAttr>(c.getValue()).getValue().getZExtValue();
      if (c.getType().isInteger(64))
        n.value = cast<IntegerAttr>(c.getValue()).getInt();
    } else if (auto ext = dyn_cast<arith::ExtUIOp>(inner)) {
      // i1 values are already 0 or 1 in the 64-bit semantics.
      index[ext.getResult()] = index.lookup(ext.getIn());
      continue;
    } else if (std::optional<expr::OpKind> kind = binaryKind(&inner)) {
      n.kind = *kind;
      n.lhs = index.lookup(inner.getOperand(0));
      n.rhs = index.lookup(inner.getOperand(1));
    } else {
      return inner.emitOpError() << "has no meaning in a sieve.predicate";
    }
    index[inner.getResult(0)] = push(n);
  }
  e.root = index.lookup(op.getCondition());
  return e;
}

/// Translates one op of the algebra; operands are already in `index`.
static FailureOr<mask::Node>
buildNode(Operation *op, const llvm::DenseMap<Value, int> &index) {
  mask::Node n;
  auto operands = [&](ValueRange values) {
    for (Value v : values)
      n.operands.push_back(index.lookup(v));
  };
  using K = mask::Kind;
  bool known = true;
  llvm::TypeSwitch<Operation *>(op)
      .Case([&](FullOp) { n.kind = K::Full; })
      .Case([&](CausalOp o) { n.kind = K::Causal, n.a = o.getOffset(); })
      .Case([&](SinkOp o) {
        n.kind = K::Sink, n.a = o.getCount(), n.unit = o.getUnit();
      })
      .Case([&](WindowOp o) {
        n.kind = K::Window, n.a = o.getCount(), n.unit = o.getUnit();
      })
      .Case([&](GlobalOp o) {
        n.kind = K::Global, n.a = o.getCount(), n.unit = o.getUnit();
      })
      .Case([&](BandOp o) {
        n.kind = K::Band, n.a = o.getMin(), n.b = o.getMax();
        n.unit = o.getUnit();
      })
      .Case([&](PowerOfTwoOp) { n.kind = K::PowerOfTwo; })
      .Case([&](StrideOp o) { n.kind = K::Stride, n.a = o.getBlocks(); })
      .Case([&](DilatedOp o) {
        n.kind = K::Dilated, n.a = o.getRate(), n.b = o.getWindowBlocks();
      })
      .Case([&](LongNetOp o) {
        n.kind = K::LongNet;
        n.segments.assign(o.getSegments().begin(), o.getSegments().end());
        n.ratios.assign(o.getRatios().begin(), o.getRatios().end());
      })
      .Case([&](UnionOp o) { n.kind = K::Union, operands(o.getInputs()); })
      .Case([&](IntersectOp o) {
        n.kind = K::Intersect, operands(o.getInputs());
      })
      .Case([&](NotOp o) { n.kind = K::Not, operands(o.getInput()); })
      .Case([&](PredicateOp) { n.kind = K::Predicate; })
      .Default([&](Operation *) { known = false; });
  if (!known)
    return op->emitOpError() << "is not a term of the pattern algebra";
  if (auto pred = dyn_cast<PredicateOp>(op)) {
    FailureOr<expr::Expr> e = buildPredicate(pred);
    if (failed(e))
      return failure();
    n.predicate = std::move(*e);
  }
  return n;
}

FailureOr<mask::Pattern> sieve::buildMaskPattern(PatternOp pattern) {
  mask::Pattern result;
  result.name = pattern.getSymName().str();
  result.blockQ = pattern.getBlockQ();
  result.blockK = pattern.getBlockK();
  llvm::DenseMap<Value, int> index;
  for (Operation &op : pattern.getBody().front().without_terminator()) {
    FailureOr<mask::Node> node = buildNode(&op, index);
    if (failed(node))
      return failure();
    index[op.getResult(0)] = result.add(std::move(*node));
  }
  result.root = index.lookup(pattern.getMask());
  return result;
}
