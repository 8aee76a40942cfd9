//===- SieveAnalysisTest.cpp - Analyses against brute force and the paper -===//

#include "../SieveRandomPattern.h"
#include "../SieveTestUtils.h"
#include "passes/SieveAnalysis.h"

#include <cmath>
#include <set>

using namespace sieve;
using namespace sieve::plan;

namespace {
/// Everything `analyze` reports, computed the slow way.
struct Brute {
  int64_t pairs = 0, emptyRows = 0, maxBlocksPerRow = 0, full = 0, partial = 0;
  int64_t maxColumnTiles = 0; ///< The most attended query tiles of one key tile.
  std::vector<double> coverage;
  std::optional<int64_t> layersToFull;
};

Brute bruteForce(const mask::Pattern &p, int64_t n, int64_t tq, int64_t tk,
                 int layers) {
  mask::Evaluator eval(p);
  std::vector<std::vector<uint8_t>> m(n, std::vector<uint8_t>(n));
  Brute b;
  for (int64_t q = 0; q < n; ++q) {
    bool any = false;
    for (int64_t k = 0; k < n; ++k) {
      m[q][k] = eval(q, k);
      b.pairs += m[q][k];
      any |= m[q][k];
    }
    b.emptyRows += !any;
  }
  auto anyIn = [&](int64_t q0, int64_t q1, int64_t k0, int64_t k1, bool &all) {
    bool any = false;
    all = true;
    for (int64_t q = q0; q < std::min(q1, n); ++q)
      for (int64_t k = k0; k < std::min(k1, n); ++k)
        any |= m[q][k], all &= bool(m[q][k]);
    return any;
  };
  bool all;
  for (int64_t q0 = 0; q0 < n; q0 += tq)
    for (int64_t k0 = 0; k0 < n; k0 += tk)
      if (anyIn(q0, q0 + tq, k0, k0 + tk, all))
        (all ? b.full : b.partial)++;
  for (int64_t k0 = 0; k0 < n; k0 += tk) {
    int64_t column = 0;
    for (int64_t q0 = 0; q0 < n; q0 += tq)
      column += anyIn(q0, q0 + tq, k0, k0 + tk, all);
    b.maxColumnTiles = std::max(b.maxColumnTiles, column);
  }
  for (int64_t q0 = 0; q0 < n; q0 += p.blockQ) {
    int64_t blocks = 0;
    for (int64_t k0 = 0; k0 < n; k0 += p.blockK)
      blocks += anyIn(q0, q0 + p.blockQ, k0, k0 + p.blockK, all);
    b.maxBlocksPerRow = std::max(b.maxBlocksPerRow, blocks);
  }
  int64_t nb = (n + p.blockK - 1) / p.blockK, B = p.blockK;
  std::set<int64_t> reached{nb - 1}, frontier{nb - 1};
  for (int layer = 1; layer <= 4 * nb + layers; ++layer) {
    std::set<int64_t> next;
    for (int64_t u : frontier)
      for (int64_t v = 0; v < nb; ++v)
        if (!reached.count(v) && anyIn(u * B, u * B + B, v * B, v * B + B, all))
          next.insert(v);
    reached.insert(next.begin(), next.end());
    if (layer <= layers)
      b.coverage.push_back(double(reached.size()) / nb);
    if (int64_t(reached.size()) == nb && !b.layersToFull)
      b.layersToFull = layer;
    frontier = next;
  }
  return b;
}
} // namespace

TEST(SieveAnalysis, MatchesBruteForceOnRandomPatterns) {
  test::RandomPattern gen(31, /*predicates=*/true);
  for (int i = 0; i < 800; ++i) {
    mask::Pattern p = gen.next();
    AnalysisOptions o;
    o.seqLen = gen.uniform(1, 90);
    o.tileQ = gen.uniform(1, 24);
    o.tileK = gen.uniform(1, 24);
    o.layers = 6;
    Analysis a = analyze(p, o);
    Brute b = bruteForce(p, o.seqLen, o.tileQ, o.tileK, o.layers);
    SCOPED_TRACE("pattern " + std::to_string(i) + " n=" + std::to_string(o.seqLen));
    ASSERT_EQ(a.attendedPairs, b.pairs);
    ASSERT_EQ(a.emptyRows, b.emptyRows);
    ASSERT_EQ(a.maxBlocksPerRow, b.maxBlocksPerRow);
    ASSERT_EQ(a.coverage, b.coverage);
    ASSERT_EQ(a.layersToFullCoverage, b.layersToFull);
    if (!TileClassifier(p).hasPredicates()) {
      ASSERT_EQ(a.fullTiles, b.full);
      ASSERT_EQ(a.partialTiles, b.partial);
    }
    // The kernel's walk is sound: it tags full only full tiles and visits
    // every attended one.
    ASSERT_LE(a.walkFullTiles, b.full);
    ASSERT_GE(a.walkFullTiles + a.walkPartialTiles, b.full + b.partial);
    // So is the backward's transposed walk: it visits every attended tile.
    if (a.pairCounts == "exact") {
      ASSERT_GE(a.backward.visitedTiles, b.full + b.partial);
      ASSERT_GE(a.backward.maxQueryTiles, b.maxColumnTiles);
      ASSERT_LE(a.backward.minQueryTiles, a.backward.meanQueryTiles);
    }
  }
}

TEST(SieveAnalysis, BackwardColumnsOfCausalAreExact) {
  // Causal at 1000 tokens, 100-token tiles: key tile j is visited by query
  // tiles j .. 9, so 10, 9, ..., 1: 55 visits, the first column the longest.
  AnalysisOptions o;
  mlir::MLIRContext ctx;
  o.seqLen = 1000, o.tileQ = o.tileK = 100;
  Analysis a = analyze(test::importPattern(ctx, R"({"block_size": 100, "mask": "causal"})"), o);
  EXPECT_EQ(a.backward.visitedTiles, 55);
  EXPECT_EQ(a.backward.maxQueryTiles, 10);
  EXPECT_EQ(a.backward.longestKeyTile, 0);
  EXPECT_EQ(a.backward.minQueryTiles, 1);
  EXPECT_DOUBLE_EQ(a.backward.meanQueryTiles, 5.5);
  EXPECT_DOUBLE_EQ(a.backward.longestShare, 10.0 / 55);
}

namespace {
Analysis analyzeBuiltin(const char *spec, int64_t n, int layers = 12) {
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(ctx, spec);
  AnalysisOptions o;
  o.seqLen = n;
  o.layers = layers;
  return analyze(p, o);
}
} // namespace

TEST(SieveAnalysis, PaperAppendixASlidingWindow) {
  // 9-block window + 1 sink at 32K = 128 blocks: one hop reaches 10 blocks.
  Analysis a = analyzeBuiltin(R"({"builtin": "sliding_window"})", 32768);
  EXPECT_DOUBLE_EQ(a.coverage[0], 10.0 / 128.0);
  EXPECT_EQ(a.maxBlocksPerRow, 10);
}

TEST(SieveAnalysis, PowerAttentionReachesEveryBlockInLogLayers) {
  for (int64_t n : {4096, 32768, 65536, 131072, 1 << 20, 1000000}) {
    Analysis a = analyzeBuiltin(R"({"builtin": "power_attention"})", n, 40);
    int64_t blocks = (n + 255) / 256;
    ASSERT_TRUE(a.layersToFullCoverage) << n;
    EXPECT_LE(*a.layersToFullCoverage, int64_t(std::ceil(std::log2(double(blocks))))) << n;
    EXPECT_EQ(a.emptyRows, 0);
  }
}

TEST(SieveAnalysis, CoverageAt32KMatchesABlockLevelSearch) {
  // The paper says stride slash and PowerAttention both cover 32K (128
  // blocks) within 6 layers. PowerAttention does; stride slash needs 8 under
  // the paper's own mask: with a 6-block window, block distance 31 takes 7
  // hops (6 * 5 + 1) before a slash at 32 can help. Check both against an
  // independent breadth-first search over the paper's block formulas.
  struct Rule {
    const char *spec;
    bool (*on)(int64_t qb, int64_t kb);
    int64_t layers;
  };
  const Rule rules[] = {
      {R"({"builtin": "power_attention"})",
       [](int64_t qb, int64_t kb) { int64_t d = qb - kb; return d >= 0 && (kb < 1 || d < 5 || (d & (d - 1)) == 0); },
       6},
      {R"({"builtin": "stride_slash"})",
       [](int64_t qb, int64_t kb) { int64_t d = qb - kb; return d >= 0 && (kb < 1 || d < 6 || d % 32 == 0); },
       8},
  };
  for (const Rule &r : rules) {
    std::vector<int64_t> dist(128, -1);
    std::vector<int64_t> frontier{127};
    dist[127] = 0;
    for (int64_t layer = 1; !frontier.empty(); ++layer) {
      std::vector<int64_t> next;
      for (int64_t u : frontier)
        for (int64_t v = 0; v < 128; ++v)
          if (dist[v] < 0 && r.on(u, v))
            dist[v] = layer, next.push_back(v);
      frontier = next;
    }
    int64_t want = *std::max_element(dist.begin(), dist.end());
    Analysis a = analyzeBuiltin(r.spec, 32768);
    ASSERT_TRUE(a.layersToFullCoverage) << r.spec;
    EXPECT_EQ(*a.layersToFullCoverage, std::max<int64_t>(want, 1)) << r.spec;
    EXPECT_EQ(*a.layersToFullCoverage, r.layers) << r.spec;
  }
}

TEST(SieveAnalysis, DilatedReachesAboutHalf) {
  Analysis a = analyzeBuiltin(R"({"builtin": "dilated"})", 32768, 200);
  EXPECT_FALSE(a.layersToFullCoverage);
  EXPECT_NEAR(a.coverage.back(), 0.5, 0.02);
}

TEST(SieveAnalysis, LongNetLeavesBlocksUnreachable) {
  Analysis a = analyzeBuiltin(R"({"builtin": "longnet"})", 32768, 200);
  EXPECT_FALSE(a.layersToFullCoverage);
  EXPECT_LT(a.coverage.back(), 1.0);
}

TEST(SieveAnalysis, EmptyRowsAreFound) {
  // Queries 0..99 see nothing: keys must be at least 100 behind.
  Analysis a = analyzeBuiltin(R"({"block_size": 64, "mask": {"intersect": ["causal", {"band": {"min": 100, "max": 100000, "unit": "token"}}]}})", 1000);
  EXPECT_EQ(a.emptyRows, 100);
  ASSERT_EQ(a.emptyRowRanges.size(), 1u);
  EXPECT_EQ(a.emptyRowRanges[0].first, 0);
  EXPECT_EQ(a.emptyRowRanges[0].last, 99);
}

TEST(SieveAnalysis, LargeLengthsMatchBlockGridCounts) {
  // The count flex_anchor.py uses: attended blocks off the diagonal are
  // full, diagonal blocks are causal triangles (N a multiple of B).
  struct Rule {
    const char *spec;
    bool (*on)(int64_t qb, int64_t kb);
  };
  const Rule rules[] = {
      {R"({"builtin": "power_attention"})",
       [](int64_t qb, int64_t kb) { int64_t d = qb - kb; return kb < 1 || d < 5 || (d & (d - 1)) == 0; }},
      {R"({"builtin": "stride_slash"})",
       [](int64_t qb, int64_t kb) { int64_t d = qb - kb; return kb < 1 || d < 6 || d % 32 == 0; }},
      {R"({"builtin": "causal"})", [](int64_t, int64_t) { return true; }},
  };
  const int64_t B = 256;
  for (const Rule &r : rules)
    for (int64_t n : {int64_t(131072), int64_t(1) << 20}) {
      int64_t nb = n / B, on = 0, diag = 0;
      for (int64_t qb = 0; qb < nb; ++qb)
        for (int64_t kb = 0; kb <= qb; ++kb)
          if (r.on(qb, kb))
            (kb == qb ? diag : on)++;
      int64_t want = on * B * B + diag * B * (B + 1) / 2;
      EXPECT_EQ(analyzeBuiltin(r.spec, n, 1).attendedPairs, want) << r.spec << " " << n;
    }
  EXPECT_EQ(analyzeBuiltin(R"({"builtin": "full"})", 1000003, 1).attendedPairs,
            int64_t(1000003) * 1000003);
  EXPECT_EQ(analyzeBuiltin(R"({"builtin": "causal"})", 1000003, 1).attendedPairs,
            int64_t(1000003) * 1000004 / 2);
}

// Issue 19, items 5 and 11: the analyses stay bounded. Tiny blocks with a
// stride make every block row a separate run per attended block: past the
// run budget the block-level analyses stop and say so, in seconds, with
// memory that does not grow with the rows; the tile statistics stay exact.
TEST(SieveAnalysis, BlockLevelAnalysesStopAtTheirBudget) {
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(ctx, R"({"block_size": 1, "mask": {"stride": {"blocks": 2}}})");
  AnalysisOptions o;
  o.seqLen = 16384;
  Analysis a = analyze(p, o);
  // d >= 0 and d even: pairs (q, k) with k <= q and q - k even.
  int64_t n = o.seqLen, want = 0;
  for (int64_t q = 0; q < n; ++q)
    want += q / 2 + 1;
  EXPECT_EQ(a.attendedPairs, want);
  EXPECT_EQ(a.pairCounts, "exact");
  EXPECT_EQ(a.maxBlocksPerRow, -1);
  ASSERT_FALSE(a.skipped.empty());
  EXPECT_NE(a.skipped[0].find("max blocks per row"), std::string::npos) << a.skipped[0];
  EXPECT_TRUE(a.coverage.empty());
}

// A token-level predicate cannot be classified per cell: pairs are counted
// one by one within a budget, then estimated, and the analysis says so.
TEST(SieveAnalysis, TokenPredicatesAreEstimatedPastTheBudget) {
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(
      ctx, R"({"block_size": 64, "mask": {"intersect": ["causal", {"predicate": "(q ^ k) & 4"}]}})");
  AnalysisOptions o;
  o.seqLen = 65536;
  Analysis a = analyze(p, o);
  EXPECT_EQ(a.pairCounts, "estimated");
  // (q ^ k) & 4 holds for half of all pairs on every aligned 8 x 8 square.
  const double causal = double(o.seqLen) * (o.seqLen + 1) / 2;
  EXPECT_NEAR(double(a.attendedPairs) / causal, 0.5, 0.05);
  // Small lengths stay exact.
  o.seqLen = 512;
  Analysis small = analyze(p, o);
  EXPECT_EQ(small.pairCounts, "exact");
}
