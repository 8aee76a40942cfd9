//===- Passes.td - The passes of sieve ----------------------*- tablegen -*-===//

#ifndef SIEVE_PASSES_TD
#define SIEVE_PASSES_TD

include "mlir/Pass/PassBase.td"

def SieveCanonicalizePass : Pass<"sieve-canonicalize", "::sieve::PatternOp"> {
  let summary = "Simplify the pattern algebra";
  let description = [{
    Rewrites a pattern into a smaller one with the same meaning:
    - flattens nested `sieve.union` / `sieve.intersect` and drops duplicate
      operands;
    - removes identities (`full` in an intersection, the empty mask
      `not(full)` in a union) and folds absorbing elements (a union with
      `full` is `full`, an intersection with the empty mask is empty);
    - drops operands implied by others: in a union, a window inside a wider
      window, band or causal rule, a sink inside a larger sink, a stride
      whose multiple is also there, ...; in an intersection, the wider one;
    - removes double negation;
    - folds constant predicates (their arith body folds to a constant) to
      `full` or the empty mask;
    - normalises: `band 0 to W-1` is `window W`, `dilated rate 1` is a
      block window, token sinks and globals that are whole blocks use blocks.
    Every rewrite is checked against the reference evaluator by a property
    test over random patterns.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def SieveLowerToPlanPass : Pass<"sieve-lower-to-plan", "::mlir::ModuleOp"> {
  let summary = "Lower each pattern to walks over the attended tiles";
  let description = [{
    For each `sieve.pattern @p`, creates `sieve.plan @p_forward` (per query
    tile, the key tiles attended) and, unless `transposed=false`,
    `sieve.plan @p_transposed` (per key tile, the query tiles attending it),
    for the kernel tile size `[tile-q, tile-k]`. Each plan records which
    closed-form generator enumerates each term, and whether the walk falls
    back to testing candidate tiles because a custom predicate has no
    closed form. Existing plans of the same name are replaced.
  }];
  let options = [
    Option<"tileQ", "tile-q", "int64_t", /*default=*/"128",
           "Kernel tile size along queries, in tokens">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"128",
           "Kernel tile size along keys, in tokens">,
    Option<"transposed", "transposed", "bool", /*default=*/"true",
           "Also derive the transposed plan (for backward)">,
  ];
}

#endif // SIEVE_PASSES_TD
