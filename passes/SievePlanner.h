//===- SievePlanner.h - Closed-form walks over attended tiles ---*- C++ -*-===//
//
// For a query tile, the ascending key tiles it attends, each full or partial;
// for a key tile, the query tiles that attend it (the transposed walk, for
// backward). No table: each leaf of the pattern generates, in closed form,
// the keys it may attend (ranges for sinks, windows and bands, qb - 2^i for
// powers of two, strided and dilated sequences, LongNet's segments) and the
// keys it surely attends; union, intersect and not combine them. Tiles that
// may be attended are then classified exactly (SieveTileClassifier.h), whole
// runs at a time, so a dense row of a million tokens costs a few checks.
//
// A custom predicate has no generator: it may attend anywhere, so rows that
// depend on it fall back to testing every candidate tile with the
// conservative tile-level check.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVEPLANNER_H
#define SIEVE_PASSES_SIEVEPLANNER_H

#include "dialect/SieveMask.h"
#include "passes/SieveIntervalSet.h"
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

/// How the walk enumerates one leaf's tiles.
enum class Generator {
  Range,        ///< one interval (sink, window, band, causal clip, global)
  PowerOffsets, ///< qb - 2^i
  Strided,      ///< qb - m * stride
  Dilated,      ///< qb - m * rate within the window
  Segments,     ///< LongNet's segment rule
  Fallback,     ///< a custom predicate: every tile is a candidate
};
const char *generatorName(Generator g);

class Planner {
public:
  Planner(const mask::Pattern &pattern, Shape shape);

  const Shape &shape() const { return shapeV; }
  const TileClassifier &classifier() const { return tiles; }

  /// Runs of key tiles attended by query tile t, ascending, disjoint.
  std::vector<TileRun> keyTiles(int64_t t) const;
  /// Runs of query tiles attending key tile j, ascending, disjoint.
  std::vector<TileRun> queryTiles(int64_t j) const;

  /// The generator of each leaf, in node order (combinators are skipped).
  std::vector<std::pair<mask::Kind, Generator>> generators() const;
  /// Whether every leaf has a closed-form generator.
  bool closedForm() const;
  /// "closed-form" or "fallback".
  std::string walkKind() const { return closedForm() ? "closed-form" : "fallback"; }

private:
  struct Sets {
    IntervalSet must, may;
  };
  const mask::Pattern &pattern;
  Shape shapeV;
  TileClassifier tiles;

  Sets candidates(int64_t lo, int64_t hi, bool transposed) const;
  Sets leaf(const mask::Node &n, int64_t lo, int64_t hi, bool transposed) const;
  std::vector<TileRun> classifyRuns(const Sets &other, int64_t lo, int64_t hi,
                                    bool transposed) const;
};

} // namespace sieve::plan

#endif // SIEVE_PASSES_SIEVEPLANNER_H
