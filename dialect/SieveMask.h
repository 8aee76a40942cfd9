//===- SieveMask.h - The reference semantics of a pattern -------*- C++ -*-===//
//
// A pattern as plain data, and the one definition of what it means: M(q, k)
// over absolute token positions. Every analysis, plan and kernel is tested
// against evaluate(). No MLIR types: no context is needed to use it.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_SIEVEMASK_H
#define SIEVE_DIALECT_SIEVEMASK_H

#include "dialect/SieveExpr.h"
#include "dialect/SieveEnums.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sieve::mask {

/// The terms of the pattern algebra and the units of their counts: the
/// dialect's own enums (SieveAttrs.td), so there is one list of each.
using Kind = ::sieve::TermKind;
using ::sieve::Unit;

/// One term. Which fields are meaningful depends on `kind`:
///   Causal: a = offset.  Sink, Window, Global: a = count, unit.
///   Band: a = min, b = max, unit.  Stride: a = blocks.
///   Dilated: a = rate, b = window blocks.  LongNet: segments, ratios.
///   Predicate: predicate.  Union, Intersect, Not: operands.
struct Node {
  Kind kind = Kind::Full;
  Unit unit = Unit::block;
  int64_t a = 0, b = 0;
  std::vector<int64_t> segments, ratios;
  expr::Expr predicate;
  /// Indices of earlier nodes (nodes are stored operands first).
  std::vector<int> operands;
};

/// A pattern: block size and a DAG of terms in topological order, so a single
/// forward pass evaluates it without recursion.
struct Pattern {
  std::string name;
  int64_t blockQ = 256, blockK = 256;
  std::vector<Node> nodes;
  int root = -1;

  /// Appends a node and returns its index.
  int add(Node node);
};

/// Evaluates a pattern at many points, reusing one scratch buffer.
class Evaluator {
public:
  explicit Evaluator(const Pattern &pattern);
  /// M(q, k) for absolute token positions q, k >= 0.
  bool operator()(int64_t q, int64_t k);

private:
  const Pattern &pattern;
  std::vector<uint8_t> values;
};

/// The value of one leaf (any kind but Union, Intersect, Not) at (q, k).
bool evaluateLeaf(const Pattern &pattern, const Node &leaf, int64_t q,
                  int64_t k);

/// M(q, k) for one pair; prefer Evaluator in loops.
bool evaluate(const Pattern &pattern, int64_t q, int64_t k);

/// Whether M(q, k) is false for every pair, by a structural proof: the empty
/// mask `not full`, a predicate that reads no variable and is false,
/// intersections with such an operand, unions of only such operands,
/// negations of masks that are provably everything. False when not proved
/// (a pattern may still attend nothing at some lengths).
bool attendsNothing(const Pattern &pattern);

/// The spelling of a kind as in the dialect ("power_of_two").
const char *kindName(Kind kind);

} // namespace sieve::mask

#endif // SIEVE_DIALECT_SIEVEMASK_H
