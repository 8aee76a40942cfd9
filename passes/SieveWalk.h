//===- SieveWalk.h - The kernels' tile walk, on the host --------*- C++ -*-===//
//
// Runs the per-term rules of SieveWalkRules.h over a pattern's DAG: the
// same answers, in the same order, as the walk code generation emits into a
// kernel, so what the planner prints and tests is what a kernel visits.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVEWALK_H
#define SIEVE_PASSES_SIEVEWALK_H

#include "dialect/SieveMask.h"
#include "passes/SieveWalkRules.h"

namespace sieve::plan {

/// may / nms of every node of a pattern, for one range of own rows.
class WalkRules {
public:
  /// `transposed`: own rows are key positions and the walk steps over
  /// queries; otherwise own rows are query positions.
  WalkRules(const mask::Pattern &pattern, bool transposed, walk::Rows rows);

  /// The root's answers (TileWalk's interface).
  int64_t may(int64_t x) const { return may(pattern->root, x); }
  int64_t nms(int64_t x) const { return nms(pattern->root, x); }

  int64_t may(int node, int64_t x) const;
  int64_t nms(int node, int64_t x) const;

private:
  const mask::Pattern *pattern;
  bool transposed;
  walk::Rows rows;

  template <bool Tr> int64_t leafMay(const mask::Node &n, int64_t x) const;
  template <bool Tr> int64_t leafNms(const mask::Node &n, int64_t x) const;
};

/// The rows [lo, hi] of one tile and the other axis, in the form the rules
/// take: own blocks from the own block size, the other axis' block size and
/// end.
walk::Rows walkRows(const mask::Pattern &pattern, bool transposed, int64_t lo,
                    int64_t hi, int64_t otherEnd);

} // namespace sieve::plan

#endif // SIEVE_PASSES_SIEVEWALK_H
