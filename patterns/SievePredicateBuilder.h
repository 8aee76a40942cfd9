//===- SievePredicateBuilder.h - Expressions as sieve.predicate -*- C++ -*-===//

#ifndef SIEVE_PATTERNS_SIEVEPREDICATEBUILDER_H
#define SIEVE_PATTERNS_SIEVEPREDICATEBUILDER_H

#include "dialect/SieveExpr.h"
#include "mlir/IR/Builders.h"

namespace sieve {
class PredicateOp;

/// Creates a `sieve.predicate` whose body computes `e` with arith ops and
/// yields `e != 0`.
PredicateOp buildPredicateOp(mlir::OpBuilder &builder, mlir::Location loc,
                             const expr::Expr &e);
} // namespace sieve

#endif // SIEVE_PATTERNS_SIEVEPREDICATEBUILDER_H
