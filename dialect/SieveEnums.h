//===- SieveEnums.h - The dialect's enums, without the dialect --*- C++ -*-===//
//
// Units, term kinds, plan directions and generators, generated from
// SieveAttrs.td: the one definition of each, shared by the IR and the
// plain-data form of patterns.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_SIEVEENUMS_H
#define SIEVE_DIALECT_SIEVEENUMS_H

#include "mlir/IR/BuiltinAttributes.h"

#include "dialect/SieveEnums.h.inc"

#endif // SIEVE_DIALECT_SIEVEENUMS_H
