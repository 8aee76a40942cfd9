//===- SieveAnalysis.cpp - Facts about a pattern, from its plan -*- C++ -*-===//

#include "passes/SieveAnalysis.h"

#include <algorithm>
#include <limits>
#include <numeric>

using namespace sieve;
using namespace sieve::plan;

namespace {
/// Runs of attended blocks the block-level analyses walk before they stop.
constexpr int64_t kRunBudget = int64_t(1) << 22;
/// Masked tiles the tile statistics classify before they sample query tiles.
constexpr int64_t kTileBudget = int64_t(1) << 21;

/// The smallest unreached index >= i, with path compression.
class Unreached {
public:
  explicit Unreached(int64_t n) : next(n + 1) {
    std::iota(next.begin(), next.end(), 0);
  }
  int64_t find(int64_t i) {
    int64_t root = i;
    while (next[root] != root)
      root = next[root];
    while (next[i] != root) {
      int64_t up = next[i];
      next[i] = root;
      i = up;
    }
    return root;
  }
  void mark(int64_t i) { next[i] = i + 1; }

private:
  std::vector<int64_t> next;
};

/// The exact walk of query tile t without tiles that attend nothing. Only
/// with predicates can an exact partial tag stand for an empty tile, so only
/// then are partial tiles counted.
std::vector<TileRun> attendedRuns(const Planner &planner, int64_t t, int64_t &budget) {
  std::vector<TileRun> runs = planner.keyTiles(t);
  budget -= int64_t(runs.size()) + 1;
  const TileClassifier &tiles = planner.classifier();
  if (!tiles.hasPredicates())
    return runs;
  const Shape &s = planner.shape();
  int64_t q0 = s.queryOffset() + t * s.tileQ;
  int64_t q1 = s.queryOffset() + std::min((t + 1) * s.tileQ, s.qLen) - 1;
  std::vector<TileRun> out;
  for (const TileRun &r : runs)
    for (int64_t j = r.begin; j < r.end; ++j) {
      if (!r.full && tiles.count(q0, q1, j * s.tileK,
                                 std::min((j + 1) * s.tileK, s.kLen) - 1) == 0)
        continue;
      if (!out.empty() && out.back().end == j && out.back().full == r.full)
        out.back().end = j + 1;
      else
        out.push_back({j, j + 1, r.full});
    }
  return out;
}

/// Work (the kernel's walk) and exact counts over the kernel's tiles; also
/// the rows with no key.
void tileStats(const mask::Pattern &pattern, const AnalysisOptions &o,
               Analysis &a) {
  Shape s{o.tileQ, o.tileK, o.seqLen, o.seqLen};
  Planner planner(pattern, s);
  const TileClassifier &tiles = planner.classifier();
  a.queryTiles = s.numQueryTiles();
  a.keyTiles = s.numKeyTiles();
  a.walk = planner.walkKind();
  a.generators = generators(pattern);
  // Each masked tile costs a classification: past the budget (a predicate
  // that defeats the walk at a long length), every step-th query tile stands
  // for `step` of them.
  int64_t masked = 0, step = 1;
  for (int64_t t = 0; t < a.queryTiles; t += step) {
    if (step == 1 && masked > kTileBudget) {
      step = std::max<int64_t>(2, masked / std::max<int64_t>(1, t) * a.queryTiles / kTileBudget);
      a.pairCounts = "estimated";
    }
    const int64_t weight = std::min(step, a.queryTiles - t);
    int64_t q0 = t * s.tileQ, q1 = std::min(q0 + s.tileQ, s.qLen) - 1;
    auto area = [&](const TileRun &r) {
      int64_t k0 = r.begin * s.tileK, k1 = std::min(r.end * s.tileK, s.kLen) - 1;
      return (q1 - q0 + 1) * (k1 - k0 + 1);
    };
    // The work: what the kernel visits.
    std::vector<TileRun> walk = planner.walkKeyTiles(t);
    for (const TileRun &r : walk) {
      a.visitedPairs += weight * area(r);
      (r.full ? a.walkFullTiles : a.walkPartialTiles) += weight * (r.end - r.begin);
      masked += r.full ? 0 : r.end - r.begin;
    }
    // The facts: exact tiles, pairs counted inside partial ones.
    std::vector<TileRun> runs = planner.refineKeyTiles(t, walk);
    std::vector<std::pair<int64_t, int64_t>> partial;
    for (const TileRun &r : runs) {
      if (r.full) {
        a.fullTiles += weight * (r.end - r.begin);
        a.attendedPairs += weight * area(r);
        continue;
      }
      a.partialTiles += weight * (r.end - r.begin);
      for (int64_t j = r.begin; j < r.end; ++j) {
        int64_t kz = std::min((j + 1) * s.tileK, s.kLen) - 1;
        a.attendedPairs += weight * tiles.count(q0, q1, j * s.tileK, kz);
        partial.push_back({j * s.tileK, kz});
      }
    }
    bool anyFull = std::any_of(runs.begin(), runs.end(),
                               [](const TileRun &r) { return r.full; });
    for (int64_t q = q0; !anyFull && q <= q1; ++q) {
      bool attends = false;
      for (auto [k0, k1] : partial)
        if ((attends = tiles.count(q, q, k0, k1) > 0))
          break;
      if (attends)
        continue;
      a.emptyRows += weight;
      if (!a.emptyRowRanges.empty() && a.emptyRowRanges.back().last == q - 1)
        a.emptyRowRanges.back().last = q;
      else if (a.emptyRowRanges.size() < 8)
        a.emptyRowRanges.push_back({q, q});
    }
  }
  if (tiles.estimated())
    a.pairCounts = "estimated";
  a.attendedFlops = 4.0 * o.headDim * a.attendedPairs;
  a.executedFlops = 4.0 * o.headDim * a.visitedPairs;

  // The backward's columns: one transposed walk per key tile. It costs what
  // the forward's walk cost, so it is skipped where that was sampled.
  if (a.pairCounts != "exact") {
    a.skipped.push_back("backward columns: the forward's counts were estimated");
    return;
  }
  Analysis::Columns &c = a.backward;
  c.minQueryTiles = std::numeric_limits<int64_t>::max();
  for (int64_t j = 0; j < a.keyTiles; ++j) {
    int64_t n = 0;
    for (const TileRun &r : planner.walkQueryTiles(j))
      n += r.end - r.begin;
    c.visitedTiles += n;
    c.minQueryTiles = std::min(c.minQueryTiles, n);
    if (n > c.maxQueryTiles)
      c.maxQueryTiles = n, c.longestKeyTile = j;
  }
  if (a.keyTiles == 0)
    c.minQueryTiles = 0;
  c.meanQueryTiles = a.keyTiles ? double(c.visitedTiles) / double(a.keyTiles) : 0;
  c.longestShare = c.visitedTiles ? double(c.maxQueryTiles) / double(c.visitedTiles) : 0;
}

/// The receptive field of the last block, one hop per layer, over blocks of
/// block_k tokens (the paper's alpha_k).
void coverage(const mask::Pattern &pattern, const AnalysisOptions &o,
              Analysis &a, int64_t &budget) {
  const int64_t b = pattern.blockK;
  Planner planner(pattern, Shape{b, b, o.seqLen, o.seqLen});
  const int64_t n = a.blocks;
  Unreached unreached(n);
  std::vector<int64_t> frontier{n - 1};
  unreached.mark(n - 1);
  int64_t reached = 1;
  // Breadth-first until nothing new is reached; each block's row is walked
  // once, when it enters the frontier.
  for (int64_t layer = 1;; ++layer) {
    std::vector<int64_t> next;
    for (int64_t u : frontier)
      for (const TileRun &r : attendedRuns(planner, u, budget))
        for (int64_t j = unreached.find(r.begin); j < r.end; j = unreached.find(j)) {
          unreached.mark(j);
          next.push_back(j);
        }
    if (budget < 0) {
      a.coverage.clear();
      a.skipped.push_back("coverage: more than " + std::to_string(kRunBudget) +
                          " runs of attended blocks to walk; a larger block size or a "
                          "shorter --seq-len brings it within reach");
      return;
    }
    reached += static_cast<int64_t>(next.size());
    a.coverage.push_back(double(reached) / double(n));
    if (reached == n && !a.layersToFullCoverage)
      a.layersToFullCoverage = layer;
    if (next.empty())
      break;
    frontier.swap(next);
  }
  if (planner.classifier().estimated())
    a.pairCounts = "estimated";
  while (a.coverage.size() < size_t(std::max(o.layers, 1)))
    a.coverage.push_back(double(reached) / double(n));
  a.coverage.resize(std::max(o.layers, 1));
}
} // namespace

Analysis plan::analyze(const mask::Pattern &pattern, const AnalysisOptions &o) {
  Analysis a;
  a.seqLen = o.seqLen;
  a.tileQ = o.tileQ;
  a.tileK = o.tileK;
  a.blocks = (o.seqLen + pattern.blockK - 1) / pattern.blockK;
  tileStats(pattern, o, a);
  a.density = double(a.attendedPairs) / (double(o.seqLen) * double(o.seqLen));
  // One block row at a time: memory stays bounded at any length. Patterns
  // whose rows hold very many separate runs of blocks (tiny blocks with
  // strides) would take rows x runs; past the budget the block-level
  // analyses stop and say so.
  int64_t budget = kRunBudget;
  Planner blocks(pattern, Shape{pattern.blockQ, pattern.blockK, o.seqLen, o.seqLen});
  for (int64_t t = 0; t < blocks.shape().numQueryTiles() && budget >= 0; ++t) {
    int64_t count = 0;
    for (const TileRun &r : attendedRuns(blocks, t, budget))
      count += r.end - r.begin;
    a.maxBlocksPerRow = std::max(a.maxBlocksPerRow, count);
  }
  if (budget < 0) {
    a.maxBlocksPerRow = -1;
    a.skipped.push_back("max blocks per row: more than " + std::to_string(kRunBudget) +
                        " runs of attended blocks to walk");
  }
  if (blocks.classifier().estimated())
    a.pairCounts = "estimated";
  if (budget >= 0)
    coverage(pattern, o, a, budget);
  return a;
}

std::vector<std::vector<TileRun>> plan::blockMap(const mask::Pattern &pattern,
                                                 int64_t seqLen,
                                                 int64_t rowStride) {
  Planner planner(pattern, Shape{pattern.blockQ, pattern.blockK, seqLen, seqLen});
  std::vector<std::vector<TileRun>> rows;
  int64_t unlimited = std::numeric_limits<int64_t>::max();
  for (int64_t t = 0; t < planner.shape().numQueryTiles(); t += rowStride)
    rows.push_back(attendedRuns(planner, t, unlimited));
  return rows;
}
