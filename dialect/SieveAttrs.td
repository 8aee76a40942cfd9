//===- SieveAttrs.td - Attributes of the sieve dialect ------*- tablegen -*-===//

#ifndef SIEVE_ATTRS_TD
#define SIEVE_ATTRS_TD

include "mlir/IR/EnumAttr.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/AttrTypeBase.td"
include "dialect/SieveDialect.td"

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

// One case per op of the algebra, spelled as its mnemonic: the plain-data
// form of a pattern (dialect/SieveMask.h) tags its nodes with these.
def Sieve_TermKindAttr : I32EnumAttr<"TermKind",
    "the terms of the pattern algebra, one per op", [
      I32EnumAttrCase<"Full", 0, "full">,
      I32EnumAttrCase<"Causal", 1, "causal">,
      I32EnumAttrCase<"Sink", 2, "sink">,
      I32EnumAttrCase<"Window", 3, "window">,
      I32EnumAttrCase<"Band", 4, "band">,
      I32EnumAttrCase<"PowerOfTwo", 5, "power_of_two">,
      I32EnumAttrCase<"Stride", 6, "stride">,
      I32EnumAttrCase<"Dilated", 7, "dilated">,
      I32EnumAttrCase<"LongNet", 8, "longnet">,
      I32EnumAttrCase<"Global", 9, "global">,
      I32EnumAttrCase<"Predicate", 10, "predicate">,
      I32EnumAttrCase<"Union", 11, "union">,
      I32EnumAttrCase<"Intersect", 12, "intersect">,
      I32EnumAttrCase<"Not", 13, "not">,
    ]> {
  let cppNamespace = "::sieve";
}

def Sieve_DirectionAttr : I32EnumAttr<"Direction",
    "which side a plan's walk starts from", [
      I32EnumAttrCase<"forward", 0>,    // per query tile, the key tiles
      I32EnumAttrCase<"transposed", 1>, // per key tile, the query tiles
    ]> {
  let cppNamespace = "::sieve";
}

def Sieve_WalkAttr : I32EnumAttr<"Walk", "how a plan enumerates tiles", [
      I32EnumAttrCase<"closed_form", 0>,
      I32EnumAttrCase<"fallback", 1>,
    ]> {
  let cppNamespace = "::sieve";
}

def Sieve_GeneratorKindAttr : I32EnumAttr<"GeneratorKind",
    "the closed form that enumerates one term's tiles", [
      I32EnumAttrCase<"range", 0>,
      I32EnumAttrCase<"power_offsets", 1>,
      I32EnumAttrCase<"strided", 2>,
      I32EnumAttrCase<"dilated", 3>,
      I32EnumAttrCase<"segments", 4>,
      I32EnumAttrCase<"fallback", 5>,
    ]> {
  let cppNamespace = "::sieve";
}

def Sieve_GeneratorAttr : AttrDef<Sieve_Dialect, "Generator"> {
  let mnemonic = "gen";
  let summary = "The generator a plan uses for one term of the pattern";
  let description = [{
    `#sieve.gen<"power_of_two", power_offsets>`: the term (by the mnemonic
    of its op, in body order) and the closed form that enumerates the tiles
    it may attend: `range` (sink, window, band, causal, global),
    `power_offsets` (qb - 2^i), `strided`, `dilated`, `segments` (LongNet), or
    `fallback` (a custom predicate: every tile is a candidate and is tested
    with a conservative tile-level check).
  }];
  let parameters = (ins StringRefParameter<"term of the pattern">:$term,
                        EnumParameter<Sieve_GeneratorKindAttr>:$kind);
  let assemblyFormat = "`<` $term `,` $kind `>`";
}

#endif // SIEVE_ATTRS_TD
