//===- SievePlanner.h - Walks over attended tiles ---------------*- C++ -*-===//
//
// For a query tile, the ascending key tiles it attends, each full or partial;
// for a key tile, the query tiles that attend it (the transposed walk, for
// backward). Two views of one walk:
//
//   walkKeyTiles / walkQueryTiles: what a kernel visits. The kernels' own
//     closed-form walk (SieveWalk.h over SieveWalkRules.h), so its tags are
//     sound but can be conservative (a tile tagged partial that is full, or
//     an empty tile visited) where a combinator cannot be exact.
//   keyTiles / queryTiles: the exact tiles, for analyses: the same walk with
//     each partial tile classified exactly (SieveTileClassifier.h).
//
// No table: a dense row of a million tokens is a few runs. A custom
// predicate has no closed form; rows that depend on it visit every candidate
// tile, which the exact view then tests with the conservative tile-level
// check of the classifier.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVEPLANNER_H
#define SIEVE_PASSES_SIEVEPLANNER_H

#include "dialect/SieveMask.h"
#include "passes/SieveTileClassifier.h"

#include <string>
#include <vector>

namespace sieve::plan {

/// The kernel's tiling of a problem: tile sizes and sequence lengths.
struct Shape {
  int64_t tileQ = 128, tileK = 128;
  int64_t qLen = 0, kLen = 0; ///< qLen <= kLen; queries end-aligned.
  int64_t numQueryTiles() const { return (qLen + tileQ - 1) / tileQ; }
  int64_t numKeyTiles() const { return (kLen + tileK - 1) / tileK; }
  /// Absolute position of query index 0.
  int64_t queryOffset() const { return kLen - qLen; }
};

/// Tiles [begin, end) with one tag.
struct TileRun {
  int64_t begin, end;
  bool full;
  bool operator==(const TileRun &o) const {
    return begin == o.begin && end == o.end && full == o.full;
  }
};

/// The closed form that enumerates each leaf (combinators are skipped), in
/// node order; GeneratorKind::fallback for custom predicates.
std::vector<std::pair<mask::Kind, GeneratorKind>> generators(const mask::Pattern &pattern);
/// Whether every leaf has a closed-form generator.
bool isClosedForm(const mask::Pattern &pattern);

class Planner {
public:
  Planner(const mask::Pattern &pattern, Shape shape);

  const Shape &shape() const { return shapeV; }
  const TileClassifier &classifier() const { return tiles; }

  /// The kernel's walk for query tile t: runs of key tiles, ascending.
  std::vector<TileRun> walkKeyTiles(int64_t t) const;
  /// The kernel's transposed walk for key tile j: runs of query tiles.
  std::vector<TileRun> walkQueryTiles(int64_t j) const;

  /// Exactly the key tiles query tile t attends, ascending, with exact tags
  /// (with predicates: Full and Empty exact, Partial possibly either).
  std::vector<TileRun> keyTiles(int64_t t) const;
  /// Exactly the query tiles attending key tile j.
  std::vector<TileRun> queryTiles(int64_t j) const;
  /// keyTiles(t) from the kernel's walk of query tile t, when the caller has
  /// it already.
  std::vector<TileRun> refineKeyTiles(int64_t t, const std::vector<TileRun> &walk) const {
    return refine(false, t, walk);
  }

  /// "closed-form" or "fallback".
  std::string walkKind() const { return isClosedForm(pattern) ? "closed-form" : "fallback"; }

private:
  const mask::Pattern &pattern;
  Shape shapeV;
  TileClassifier tiles;

  std::vector<TileRun> walk(bool transposed, int64_t index) const;
  std::vector<TileRun> refine(bool transposed, int64_t index,
                              const std::vector<TileRun> &runs) const;
};

} // namespace sieve::plan

#endif // SIEVE_PASSES_SIEVEPLANNER_H
