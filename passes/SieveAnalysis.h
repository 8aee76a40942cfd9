//===- SieveAnalysis.h - Facts about a pattern, from its plan ---*- C++ -*-===//
//
// Density, work, empty rows and the receptive field across layers, computed
// from the walks (runs of tiles) and the exact tile counts, never by
// evaluating all N^2 pairs, so they stay fast at a million tokens.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVEANALYSIS_H
#define SIEVE_PASSES_SIEVEANALYSIS_H

#include "dialect/SieveMask.h"
#include "passes/SievePlanner.h"

#include <optional>
#include <string>
#include <vector>

namespace sieve::plan {

struct AnalysisOptions {
  int64_t seqLen = 32768;
  /// Coverage entries to report (at least this many).
  int layers = 12;
  int64_t tileQ = 128, tileK = 128;
  int64_t headDim = 128;
};

/// Inclusive ranges of query positions.
struct RowRange {
  int64_t first, last;
};

struct Analysis {
  int64_t seqLen = 0;
  int64_t attendedPairs = 0; ///< (q, k) pairs attended, Nq = Nk = seqLen.
  double density = 0;        ///< attendedPairs / seqLen^2.
  int64_t blocks = 0;        ///< Pattern blocks (of block_k tokens).
  int64_t maxBlocksPerRow = 0;
  int64_t emptyRows = 0; ///< Query tokens that attend no key.
  std::vector<RowRange> emptyRowRanges; ///< The first few of them.
  std::vector<double> coverage;         ///< coverage[i]: within i + 1 layers.
  std::optional<int64_t> layersToFullCoverage;
  // Tiles of the kernel's tile size.
  int64_t tileQ = 0, tileK = 0, queryTiles = 0, keyTiles = 0;
  int64_t fullTiles = 0, partialTiles = 0; ///< Exactly.
  /// What the kernel's walk visits: tiles it tags full (no element mask) and
  /// partial (masked, including conservative tags and empty tiles visited),
  /// and the pairs inside them (the work done).
  int64_t walkFullTiles = 0, walkPartialTiles = 0;
  int64_t visitedPairs = 0;
  double attendedFlops = 0, executedFlops = 0; ///< Per head, forward.
  /// The backward's work per key tile: the query tiles its transposed walk
  /// visits (what one CTA of the backward's main kernel does). Key tiles
  /// run in index order, so `longestKeyTile` far from 0 with a large share
  /// means the longest CTA starts late. Not analysed (maxQueryTiles = -1,
  /// with a `skipped` entry) when the forward's counts were estimated.
  struct Columns {
    int64_t maxQueryTiles = -1, minQueryTiles = 0, longestKeyTile = 0;
    double meanQueryTiles = 0;
    double longestShare = 0; ///< The longest column's share of all visited tiles.
    int64_t visitedTiles = 0;
  } backward;
  std::string walk; ///< "closed-form" or "fallback".
  /// "exact", or "estimated" when token-level predicates left more pairs
  /// undecided than TileClassifier::kEvaluationBudget allows, or a predicate
  /// made the walk visit too many tiles (counts then rest on sampled cells
  /// and sampled query tiles).
  std::string pairCounts = "exact";
  /// Analyses not done because they would take too long, with the reason
  /// (maxBlocksPerRow is then -1 and coverage empty).
  std::vector<std::string> skipped;
  std::vector<std::pair<mask::Kind, GeneratorKind>> generators;
};

Analysis analyze(const mask::Pattern &pattern, const AnalysisOptions &options);

/// For each query block (of block_q tokens), the runs of key blocks (of
/// block_k tokens) it attends; rows are sampled every `rowStride` blocks.
std::vector<std::vector<TileRun>> blockMap(const mask::Pattern &pattern,
                                           int64_t seqLen, int64_t rowStride);

} // namespace sieve::plan

#endif // SIEVE_PASSES_SIEVEANALYSIS_H
