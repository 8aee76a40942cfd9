//===- SieveTileClassifier.h - Exact classification of tiles ----*- C++ -*-===//
//
// Decides whether every, some or no (q, k) pair of a rectangle is attended,
// without visiting the pairs. The rectangle is cut into cells inside which
// every block-level term is constant; what varies inside a cell is only the
// token distance q - k, and each remaining term (causal, token windows and
// bands) is an interval of distances. So a cell's attended set is a union of
// distance intervals, and classifying or counting it is arithmetic.
//
// Custom predicates are the exception: they are bounded by interval
// arithmetic (SieveExprRange.h), which can leave a cell undecided. Such cells
// classify as partial (conservative) and are counted pair by pair.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVETILECLASSIFIER_H
#define SIEVE_PASSES_SIEVETILECLASSIFIER_H

#include "dialect/SieveMask.h"
#include "passes/SieveIntervalSet.h"

namespace sieve::plan {

enum class TileClass : uint8_t { Empty, Partial, Full };

/// Classifies inclusive rectangles q in [q0, q1], k in [k0, k1] of absolute
/// token positions.
class TileClassifier {
public:
  explicit TileClassifier(const mask::Pattern &pattern);

  /// Exact unless the pattern has predicates; then Full and Empty are always
  /// right and Partial may stand for either.
  TileClass classify(int64_t q0, int64_t q1, int64_t k0, int64_t k1) const;

  /// The number of attended pairs in the rectangle: exact, except that
  /// once kEvaluationBudget expression nodes have been spent evaluating
  /// cells a predicate leaves undecided pair by pair, further such cells are
  /// estimated from four pairs at hashed positions (estimated() says so).
  int64_t count(int64_t q0, int64_t q1, int64_t k0, int64_t k1) const;

  /// Expression nodes this classifier evaluates pair by pair before it
  /// estimates (about a second).
  static constexpr int64_t kEvaluationBudget = int64_t(1) << 28;
  /// Whether some count was an estimate.
  bool estimated() const { return estimatedCounts; }

  /// Whether some leaf is a custom predicate.
  bool hasPredicates() const { return predicates; }

private:
  struct CellValue {
    IntervalSet must, may; ///< Distances attended for sure / possibly.
  };
  const mask::Pattern &pattern;
  bool blockLevel = false, predicates = false;
  /// Every block-level leaf depends on d = qb - kb alone (windows, bands,
  /// powers, strides, dilations), so a cell's value is a function of d.
  bool distanceOnly = true;
  int64_t costPerPair = 1; ///< Nodes one evaluation of the pattern visits.
  mutable int64_t budgetLeft = kEvaluationBudget;
  mutable bool estimatedCounts = false;
  std::vector<int64_t> qCuts, kCuts; ///< Token thresholds of leaves.

  CellValue evaluateCell(int64_t qa, int64_t qz, int64_t ka, int64_t kz) const;
  /// Calls fn(qa, qz, ka, kz, times, value) for the cells until it returns
  /// false: each cell once (times = 1), or for distance-only patterns one
  /// cell standing for `times` translates of it.
  template <typename Fn>
  void forEachValue(int64_t q0, int64_t q1, int64_t k0, int64_t k1, Fn fn) const;
  /// Calls fn(qa, qz, ka, kz) for each cell until it returns false.
  template <typename Fn>
  void forEachCell(int64_t q0, int64_t q1, int64_t k0, int64_t k1, Fn fn) const;
};

/// The number of pairs (q, k) in [qa, qz] x [ka, kz] with q - k in [a, b].
int64_t pairsAtDistances(int64_t qa, int64_t qz, int64_t ka, int64_t kz,
                         int64_t a, int64_t b);

} // namespace sieve::plan

#endif // SIEVE_PASSES_SIEVETILECLASSIFIER_H
