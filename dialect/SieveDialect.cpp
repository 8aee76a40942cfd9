//===- SieveDialect.cpp - Registration of the sieve dialect -----*- C++ -*-===//

#include "dialect/SieveDialect.h"
#include "dialect/SieveOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace sieve;

#include "dialect/SieveDialect.cpp.inc"
#include "dialect/SieveEnums.cpp.inc"

#define GET_TYPEDEF_CLASSES
#include "dialect/SieveTypes.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/SieveAttrs.cpp.inc"

void SieveDialect::initialize() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialect/SieveAttrs.cpp.inc"
      >();
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialect/SieveTypes.cpp.inc"
      >();
  addOperations<
#define GET_OP_LIST
#include "dialect/SieveOps.cpp.inc"
      >();
}
