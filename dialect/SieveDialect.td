//===- SieveDialect.td - The sieve dialect and its mask type -*- tablegen -*-===//
//
// The dialect that holds an attention pattern: a symbol with the pattern's
// block size and a region that combines mask values with the pattern algebra.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_TD
#define SIEVE_DIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Sieve_Dialect : Dialect {
  let name = "sieve";
  let cppNamespace = "::sieve";
  let summary = "Declarative sparse-attention patterns";
  let description = [{
    A `sieve.pattern` describes which (query, key) token pairs attend to each
    other, as a predicate M(q, k) over absolute token positions. Its body
    combines the ops of the pattern algebra (`sieve.causal`, `sieve.window`,
    `sieve.power_of_two`, `sieve.union`, ...) into one `!sieve.mask` value.

    Positions: keys sit at 0 .. Nk - 1; the Nq <= Nk queries are aligned to the
    end of the keys, so query i sits at position Nk - Nq + i. With the pattern
    block size [block_q, block_k], qb = q / block_q and kb = k / block_k; the
    block distance is d = qb - kb and the token distance is q - k.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
}

class Sieve_Op<string mnemonic, list<Trait> traits = []>
    : Op<Sieve_Dialect, mnemonic, traits>;

def Sieve_MaskType : TypeDef<Sieve_Dialect, "Mask"> {
  let mnemonic = "mask";
  let summary = "A set of attended (query, key) token pairs";
  let description = [{
    The value every op of the pattern algebra produces: a predicate over
    (q, k) token positions that the enclosing `sieve.pattern` gives a block
    size to.
  }];
}

#endif // SIEVE_DIALECT_TD
