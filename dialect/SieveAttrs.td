//===- SieveAttrs.td - Attributes of the sieve dialect ------*- tablegen -*-===//

#ifndef SIEVE_ATTRS_TD
#define SIEVE_ATTRS_TD

include "mlir/IR/EnumAttr.td"

def Sieve_UnitBlock : I32EnumAttrCase<"block", 0>;
def Sieve_UnitToken : I32EnumAttrCase<"token", 1>;

def Sieve_UnitAttr : I32EnumAttr<"Unit",
    "the unit of a count or distance: pattern blocks or tokens",
    [Sieve_UnitBlock, Sieve_UnitToken]> {
  let cppNamespace = "::sieve";
}

#endif // SIEVE_ATTRS_TD
