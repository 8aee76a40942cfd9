//===- SieveExprRange.h - Interval evaluation of predicates -----*- C++ -*-===//
//
// The conservative tile-level check of the fallback walk: evaluates a
// predicate over ranges of q and k (qb and kb fixed) and says whether it is
// true everywhere, false everywhere, or may be either.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVEEXPRRANGE_H
#define SIEVE_PASSES_SIEVEEXPRRANGE_H

#include "dialect/SieveExpr.h"

namespace sieve::plan {

enum class Truth { False, True, Unknown };

/// Inclusive ranges of the predicate's inputs.
struct ExprRanges {
  int64_t qLo, qHi, kLo, kHi;
  int64_t qb, kb;
};

/// Never answers True or False wrongly; answers Unknown when it cannot tell.
Truth evaluateRange(const expr::Expr &e, const ExprRanges &r);

} // namespace sieve::plan

#endif // SIEVE_PASSES_SIEVEEXPRRANGE_H
