//===- SieveOps.h - The ops of the pattern algebra --------------*- C++ -*-===//

#ifndef SIEVE_DIALECT_SIEVEOPS_H
#define SIEVE_DIALECT_SIEVEOPS_H

#include "dialect/SieveDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialect/SieveOps.h.inc"

#endif // SIEVE_DIALECT_SIEVEOPS_H
