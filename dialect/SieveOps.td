//===- SieveOps.td - The pattern algebra --------------------*- tablegen -*-===//
//
// One op per term of the pattern algebra. Every term is a predicate over token
// positions; the meanings below are the reference semantics that the evaluator
// (SieveMask.h), the plans and the kernels are tested against.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_OPS_TD
#define SIEVE_OPS_TD

include "dialect/SieveDialect.td"
include "dialect/SieveAttrs.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/IR/OpAsmInterface.td"

//===----------------------------------------------------------------------===//
// Structure
//===----------------------------------------------------------------------===//

def Sieve_PatternOp : Sieve_Op<"pattern",
    [Symbol, IsolatedFromAbove]> {
  let summary = "An attention pattern: a block size and a mask";
  let description = [{
    Defines a named attention pattern; the name is an identifier
    (`[A-Za-z_][A-Za-z0-9_]*`, at most 128 characters); the body holds at
    most 10000 terms and 131072 operations, predicate bodies included
    (`dialect/SieveLimits.h`). `block_size` is `[block_q, block_k]`,
    the tokens per pattern block along queries and keys; it gives block
    distances their meaning and is independent of any kernel tile size. The
    body is one block that ends in `sieve.yield` of a `!sieve.mask`.

    ```mlir
    sieve.pattern @power_attention block_size [256, 256] {
      %causal = sieve.causal
      %sink = sieve.sink 1 block
      %window = sieve.window 5 block
      %power = sieve.power_of_two
      %any = sieve.union %sink, %window, %power
      %mask = sieve.intersect %causal, %any
      sieve.yield %mask : !sieve.mask
    }
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name, DenseI64ArrayAttr:$block_size);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $sym_name `block_size` $block_size attr-dict-with-keyword $body
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The block size along queries (tokens per pattern block).
    int64_t getBlockQ() { return getBlockSize()[0]; }
    /// The block size along keys.
    int64_t getBlockK() { return getBlockSize()[1]; }
    /// The value the body yields.
    ::mlir::Value getMask();
  }];
}

def Sieve_YieldOp : Sieve_Op<"yield",
    [Pure, Terminator, ParentOneOf<["PatternOp", "PredicateOp"]>]> {
  let summary = "Yields the result of a pattern or predicate body";
  let description = [{
    Ends the body of a `sieve.pattern` (yielding a `!sieve.mask`) or of a
    `sieve.predicate` (yielding an `i1`).

    ```mlir
    sieve.yield %mask : !sieve.mask
    ```
  }];
  let arguments = (ins AnyType:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Leaves of the algebra
//===----------------------------------------------------------------------===//

// Every term yields a !sieve.mask, so builders need no result type.
class Sieve_MaskOp<string mnemonic, list<Trait> traits = []>
    : Sieve_Op<mnemonic, !listconcat(
          [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>], traits)> {
  let results = (outs Sieve_MaskType:$result);
}

def Sieve_FullOp : Sieve_MaskOp<"full"> {
  let summary = "Every pair attends";
  let description = [{
    M(q, k) = true.

    ```mlir
    %all = sieve.full
    ```
  }];
  let assemblyFormat = "attr-dict";
}

def Sieve_CausalOp : Sieve_MaskOp<"causal"> {
  let summary = "Keys at or before the query, shifted by an offset";
  let description = [{
    M(q, k) = k <= q + offset. The offset defaults to 0 (plain causal
    attention); a positive offset lets queries see that many later keys. Its
    magnitude is at most 2^40, like every count and distance.

    ```mlir
    %c = sieve.causal
    %ahead = sieve.causal offset 3
    ```
  }];
  let arguments = (ins DefaultValuedAttr<Sieve_I64Attr, "0">:$offset);
  let assemblyFormat = "(`offset` $offset^)? attr-dict";
  let hasVerifier = 1;
}

def Sieve_SinkOp : Sieve_MaskOp<"sink"> {
  let summary = "The first keys, seen by every query";
  let description = [{
    M(q, k) = k < S, with S = count * block_k tokens for unit `block` and
    S = count for unit `token`. The count must be positive.

    ```mlir
    %sink = sieve.sink 1 block
    ```
  }];
  let arguments = (ins Sieve_I64Attr:$count, Sieve_UnitAttr:$unit);
  let assemblyFormat = "$count $unit attr-dict";
  let hasVerifier = 1;
}

def Sieve_WindowOp : Sieve_MaskOp<"window"> {
  let summary = "A local window of the most recent keys";
  let description = [{
    M(q, k) = 0 <= d < W, where for unit `block` d = qb - kb is the block
    distance and W = count blocks, and for unit `token` d = q - k and
    W = count tokens. The count must be positive.

    ```mlir
    %local = sieve.window 5 block
    ```
  }];
  let arguments = (ins Sieve_I64Attr:$count, Sieve_UnitAttr:$unit);
  let assemblyFormat = "$count $unit attr-dict";
  let hasVerifier = 1;
}

def Sieve_BandOp : Sieve_MaskOp<"band"> {
  let summary = "A band of distances around the diagonal";
  let description = [{
    M(q, k) = min <= d <= max, with d = qb - kb (unit `block`) or d = q - k
    (unit `token`). Negative distances are keys after the query. Requires
    min <= max.

    ```mlir
    %band = sieve.band -2 to 2 block
    ```
  }];
  let arguments = (ins Sieve_I64Attr:$min, Sieve_I64Attr:$max, Sieve_UnitAttr:$unit);
  let assemblyFormat = "$min `to` $max $unit attr-dict";
  let hasVerifier = 1;
}

def Sieve_PowerOfTwoOp : Sieve_MaskOp<"power_of_two"> {
  let summary = "Key blocks at power-of-two block distances";
  let description = [{
    M(q, k) = d >= 0 and (d & (d - 1)) == 0 with d = qb - kb; d = 0 (the
    query's own block) is included. This is PowerAttention's long-range rule.

    ```mlir
    %power = sieve.power_of_two
    ```
  }];
  let assemblyFormat = "attr-dict";
}

def Sieve_StrideOp : Sieve_MaskOp<"stride"> {
  let summary = "Key blocks at multiples of a block stride";
  let description = [{
    M(q, k) = d >= 0 and d % S == 0 with d = qb - kb and S = blocks > 0
    (the "slash" lines of stride-slash attention).

    ```mlir
    %slash = sieve.stride 32
    ```
  }];
  let arguments = (ins Sieve_I64Attr:$blocks);
  let assemblyFormat = "$blocks attr-dict";
  let hasVerifier = 1;
}

def Sieve_DilatedOp : Sieve_MaskOp<"dilated"> {
  let summary = "Every rate-th key block within a window";
  let description = [{
    M(q, k) = 0 <= d < window_blocks and d % rate == 0 with d = qb - kb.
    Both numbers must be positive.

    ```mlir
    %dilated = sieve.dilated rate 2 window 20
    ```
  }];
  let arguments = (ins Sieve_I64Attr:$rate, Sieve_I64Attr:$window_blocks);
  let assemblyFormat = "`rate` $rate `window` $window_blocks attr-dict";
  let hasVerifier = 1;
}

def Sieve_LongNetOp : Sieve_MaskOp<"longnet"> {
  let summary = "LongNet's segmented, dilated rule (block units)";
  let description = [{
    M(q, k) = OR over i of ((qb ^ kb) < segments[i] and
    ((qb | kb) & (ratios[i] - 1)) == 0), the PowerAttention paper's
    Algorithm 5 in block units. The two arrays have the same, non-zero length;
    segments are positive and every ratio is a power of two.

    ```mlir
    %ln = sieve.longnet segments [8, 16, 32] ratios [1, 2, 4]
    ```
  }];
  let arguments = (ins DenseI64ArrayAttr:$segments, DenseI64ArrayAttr:$ratios);
  let assemblyFormat = "`segments` $segments `ratios` $ratios attr-dict";
  let hasVerifier = 1;
}

def Sieve_GlobalOp : Sieve_MaskOp<"global"> {
  let summary = "Global tokens that see and are seen by everything";
  let description = [{
    M(q, k) = k < G or q < G, with G = count * block_k (keys) and
    count * block_q (queries) tokens for unit `block`, or G = count tokens for
    unit `token`. The count must be positive.

    ```mlir
    %g = sieve.global 1 block
    ```
  }];
  let arguments = (ins Sieve_I64Attr:$count, Sieve_UnitAttr:$unit);
  let assemblyFormat = "$count $unit attr-dict";
  let hasVerifier = 1;
}

def Sieve_PredicateOp : Sieve_MaskOp<"predicate", [IsolatedFromAbove,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "A custom rule computed with arith ops";
  let description = [{
    The body takes (q, k, qb, kb) as `i64` block arguments and yields an `i1`;
    true means attend. Only these arith ops may appear: constant; addi, subi,
    muli, divsi, remsi, shli and shrsi on i64; andi, ori and xori on i64 or
    i1; cmpi eq, ne, slt, sle, sgt or sge on i64; extui from i1 to i64. This is
    exactly the predicate expression language of JSON specs. Arithmetic wraps on overflow; x / 0
    and x % 0 are 0; shifts by amounts outside [0, 63] give 0 (or -1 for a
    negative value shifted right).

    ```mlir
    %p = sieve.predicate {
    ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
      %c3 = arith.constant 3 : i64
      %r = arith.remsi %kb, %c3 : i64
      %c0 = arith.constant 0 : i64
      %is = arith.cmpi eq, %r, %c0 : i64
      sieve.yield %is : i1
    }
    ```
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasVerifier = 1;
  let skipDefaultBuilders = 1;
  let builders = [OpBuilder<(ins)>];
  let extraClassDeclaration = [{
    /// The i1 value the body yields.
    ::mlir::Value getCondition();
  }];
}

//===----------------------------------------------------------------------===//
// Combinators
//===----------------------------------------------------------------------===//

def Sieve_UnionOp : Sieve_MaskOp<"union"> {
  let summary = "Pairs attended by any operand";
  let description = [{
    M = M_1 or M_2 or ... (at least one operand).

    ```mlir
    %any = sieve.union %sink, %window, %power
    ```
  }];
  let arguments = (ins Variadic<Sieve_MaskType>:$inputs);
  let assemblyFormat = "$inputs attr-dict";
  let hasVerifier = 1;
}

def Sieve_IntersectOp : Sieve_MaskOp<"intersect"> {
  let summary = "Pairs attended by every operand";
  let description = [{
    M = M_1 and M_2 and ... (at least one operand).

    ```mlir
    %mask = sieve.intersect %causal, %any
    ```
  }];
  let arguments = (ins Variadic<Sieve_MaskType>:$inputs);
  let assemblyFormat = "$inputs attr-dict";
  let hasVerifier = 1;
}

def Sieve_NotOp : Sieve_MaskOp<"not"> {
  let summary = "Pairs the operand does not attend";
  let description = [{
    M = not M_1.

    ```mlir
    %far = sieve.not %window
    ```
  }];
  let arguments = (ins Sieve_MaskType:$input);
  let assemblyFormat = "$input attr-dict";
}

//===----------------------------------------------------------------------===//
// Plans
//===----------------------------------------------------------------------===//

def Sieve_PlanOp : Sieve_Op<"plan",
    [Symbol, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "A walk over the attended tiles of a pattern";
  let description = [{
    The lowered form of a pattern for one kernel tiling: `tile` is
    `[tile_q, tile_k]` in tokens, independent of the pattern's block size.
    A `forward` plan enumerates, for each query tile, the ascending key tiles
    it attends; a `transposed` plan, for each key tile, the query tiles that
    attend it (for backward). Each tile is tagged full or partial exactly,
    except that with `fallback` generators tiles may be conservatively
    partial. Sequence lengths are not part of the plan: one plan serves every
    length.

    `generators` lists, per term of the pattern (in body order), the closed
    form that enumerates its tiles; `walk` is `fallback` when any term has
    none.

    ```mlir
    sieve.plan @power_attention_forward of @power_attention tile [128, 128]
        forward closed_form generators [#sieve.gen<"causal", range>,
        #sieve.gen<"sink", range>, #sieve.gen<"window", range>,
        #sieve.gen<"power_of_two", power_offsets>]
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       FlatSymbolRefAttr:$pattern,
                       DenseI64ArrayAttr:$tile,
                       Sieve_DirectionAttr:$direction,
                       Sieve_WalkAttr:$walk,
                       TypedArrayAttrBase<Sieve_GeneratorAttr,
                                          "generators">:$generators);
  let assemblyFormat = [{
    $sym_name `of` $pattern `tile` $tile $direction $walk
    `generators` $generators attr-dict
  }];
  let hasVerifier = 1;
}

#endif // SIEVE_OPS_TD
