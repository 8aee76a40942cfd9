//===- SieveAttrs.td - Attributes of the sieve dialect ------*- tablegen -*-===//

#ifndef SIEVE_ATTRS_TD
#define SIEVE_ATTRS_TD

include "mlir/IR/EnumAttr.td"
include "mlir/IR/CommonAttrConstraints.td"

// I64Attr reads back as uint64_t; counts, distances and offsets are signed.
def Sieve_I64Attr : TypedSignlessIntegerAttrBase<I64, "int64_t",
    "64-bit signed integer attribute"> {
  let convertFromStorage = "$_self.getValue().getSExtValue()";
}

def Sieve_UnitBlock : I32EnumAttrCase<"block", 0>;
def Sieve_UnitToken : I32EnumAttrCase<"token", 1>;

def Sieve_UnitAttr : I32EnumAttr<"Unit",
    "the unit of a count or distance: pattern blocks or tokens",
    [Sieve_UnitBlock, Sieve_UnitToken]> {
  let cppNamespace = "::sieve";
}

#endif // SIEVE_ATTRS_TD
