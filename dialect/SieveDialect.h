//===- SieveDialect.h - The sieve dialect, its type and enums ---*- C++ -*-===//

#ifndef SIEVE_DIALECT_SIEVEDIALECT_H
#define SIEVE_DIALECT_SIEVEDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "dialect/SieveDialect.h.inc"
#include "dialect/SieveEnums.h"

#define GET_ATTRDEF_CLASSES
#include "dialect/SieveAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/SieveTypes.h.inc"

#endif // SIEVE_DIALECT_SIEVEDIALECT_H
