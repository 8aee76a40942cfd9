//===- SieveMaskFromIR.h - From a sieve.pattern to its meaning --*- C++ -*-===//

#ifndef SIEVE_DIALECT_SIEVEMASKFROMIR_H
#define SIEVE_DIALECT_SIEVEMASKFROMIR_H

#include "dialect/SieveMask.h"
#include "mlir/Support/LogicalResult.h"

namespace sieve {
class PatternOp;

/// Builds the plain-data form of a verified pattern, one node per op of its
/// body. Emits an error at the offending op and fails if the body holds
/// something the reference semantics do not define.
mlir::FailureOr<mask::Pattern> buildMaskPattern(PatternOp pattern);
} // namespace sieve

#endif // SIEVE_DIALECT_SIEVEMASKFROMIR_H
