//===- SievePredicateBuilder.cpp - Expressions as sieve.predicate -*- C++ -*-===//
//
// Values are kept in whichever of i1 or i64 the producing op gives, and
// converted only where a user needs the other, so that comparisons combined
// with && and || stay in i1 and the IR reads like the expression.
//
//===----------------------------------------------------------------------===//

#include "patterns/SievePredicateBuilder.h"
#include "dialect/SieveOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;
using namespace sieve;
using expr::OpKind;

namespace {
class Emitter {
public:
  Emitter(OpBuilder &b, Location loc, Block &body) : b(b), loc(loc) {
    for (int i = 0; i < 4; ++i)
      args[i] = body.getArgument(i);
  }

  Value emit(const expr::Expr &e) {
    std::vector<Value> values(e.nodes.size());
    for (size_t i = 0; i < e.nodes.size(); ++i) {
      const expr::Node &n = e.nodes[i];
      Value lhs = n.lhs >= 0 ? values[n.lhs] : Value();
      Value rhs = n.rhs >= 0 ? values[n.rhs] : Value();
      values[i] = node(n, lhs, rhs);
    }
    return asBool(values[e.root]);
  }

private:
  OpBuilder &b;
  Location loc;
  Value args[4];

  Value i64(Value v) {
    if (v.getType().isInteger(64))
      return v;
    return b.create<arith::ExtUIOp>(loc, b.getI64Type(), v);
  }
  Value asBool(Value v) {
    if (v.getType().isInteger(1))
      return v;
    return cmp(arith::CmpIPredicate::ne, v, constant(0));
  }
  Value constant(int64_t v) {
    return b.create<arith::ConstantIntOp>(loc, v, 64);
  }
  Value cmp(arith::CmpIPredicate p, Value l, Value r) {
    return b.create<arith::CmpIOp>(loc, p, i64(l), i64(r));
  }

  Value variable(expr::Var var) {
    switch (var) {
    case expr::Var::Q: return args[0];
    case expr::Var::K: return args[1];
    case expr::Var::QB: return args[2];
    case expr::Var::KB: return args[3];
    case expr::Var::D: return b.create<arith::SubIOp>(loc, args[2], args[3]);
    }
    return args[0];
  }

  /// Bitwise ops stay in i1 when both sides are i1 (0/1 agree either way).
  template <typename OpTy> Value bitwise(Value l, Value r) {
    if (l.getType().isInteger(1) && r.getType().isInteger(1))
      return b.create<OpTy>(loc, l, r);
    return b.create<OpTy>(loc, i64(l), i64(r));
  }

  Value node(const expr::Node &n, Value l, Value r) {
    using P = arith::CmpIPredicate;
    switch (n.kind) {
    case OpKind::Const: return constant(n.value);
    case OpKind::Var: return variable(n.var);
    case OpKind::Neg: return b.create<arith::SubIOp>(loc, constant(0), i64(l));
    case OpKind::Not: return cmp(P::eq, l, constant(0));
    case OpKind::Add: return b.create<arith::AddIOp>(loc, i64(l), i64(r));
    case OpKind::Sub: return b.create<arith::SubIOp>(loc, i64(l), i64(r));
    case OpKind::Mul: return b.create<arith::MulIOp>(loc, i64(l), i64(r));
    case OpKind::Div: return b.create<arith::DivSIOp>(loc, i64(l), i64(r));
    case OpKind::Rem: return b.create<arith::RemSIOp>(loc, i64(l), i64(r));
    case OpKind::Shl: return b.create<arith::ShLIOp>(loc, i64(l), i64(r));
    case OpKind::Shr: return b.create<arith::ShRSIOp>(loc, i64(l), i64(r));
    case OpKind::And: return bitwise<arith::AndIOp>(l, r);
    case OpKind::Or: return bitwise<arith::OrIOp>(l, r);
    case OpKind::Xor: return bitwise<arith::XOrIOp>(l, r);
    case OpKind::Eq: return cmp(P::eq, l, r);
    case OpKind::Ne: return cmp(P::ne, l, r);
    case OpKind::Lt: return cmp(P::slt, l, r);
    case OpKind::Le: return cmp(P::sle, l, r);
    case OpKind::Gt: return cmp(P::sgt, l, r);
    case OpKind::Ge: return cmp(P::sge, l, r);
    case OpKind::LAnd: return b.create<arith::AndIOp>(loc, asBool(l), asBool(r));
    case OpKind::LOr: return b.create<arith::OrIOp>(loc, asBool(l), asBool(r));
    }
    return constant(0);
  }
};
} // namespace

PredicateOp sieve::buildPredicateOp(OpBuilder &builder, Location loc,
                                    const expr::Expr &e) {
  auto op = builder.create<PredicateOp>(loc);
  OpBuilder::InsertionGuard guard(builder);
  Block &body = op.getBody().front();
  builder.setInsertionPointToStart(&body);
  Value cond = Emitter(builder, loc, body).emit(e);
  builder.create<YieldOp>(loc, cond);
  return op;
}
