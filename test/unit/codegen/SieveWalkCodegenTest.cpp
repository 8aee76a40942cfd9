//===- SieveWalkCodegenTest.cpp - Generated walks and masks on the host -===//
//
// The walk and mask emitted for the GPU, compiled for the host, must agree
// with the host: the mask exactly with the reference evaluator, and the walk
// tile for tile (tags included) with the planner's walk (passes/SieveWalk.h),
// in both directions. The planner's property tests (SievePlannerTest) then
// cover what the kernels visit.
//
//===----------------------------------------------------------------------===//

#include "WalkCaseList.h"
#include "passes/SievePlanner.h"

#include <gtest/gtest.h>

using namespace sieve;

namespace {
/// The planner's runs as one (tile, full) per tile.
std::vector<std::pair<int, bool>> expand(const std::vector<plan::TileRun> &runs) {
  std::vector<std::pair<int, bool>> out;
  for (const plan::TileRun &r : runs)
    for (int64_t t = r.begin; t < r.end; ++t)
      out.push_back({int(t), r.full});
  return out;
}
} // namespace

TEST(SieveWalkCodegen, MasksMatchTheReference) {
  std::vector<WalkCasePattern> patterns = walkCasePatterns();
  ASSERT_EQ(int(patterns.size()), kNumWalkCases);
  for (int c = 0; c < kNumWalkCases; ++c) {
    mask::Evaluator eval(patterns[c].pattern);
    for (int64_t q = 0; q < 90; ++q)
      for (int64_t k = 0; k < 90; ++k)
        ASSERT_EQ(kWalkCases[c].mask(q, k), eval(q, k)) << "case " << c << " q=" << q << " k=" << k;
  }
}

TEST(SieveWalkCodegen, MasksAreExactNearTheLargestPositions) {
  // Kernel positions go up to 2^31 - 1; 32-bit masks compare differences.
  std::vector<WalkCasePattern> patterns = walkCasePatterns();
  const int64_t top = (int64_t(1) << 31) - 1;
  const int64_t points[] = {0, 1, 1 << 20, 1073741823, 1073741824, 2000000000, top - 7, top - 1, top};
  for (int c = 0; c < kNumWalkCases; ++c) {
    mask::Evaluator eval(patterns[c].pattern);
    for (int64_t q : points)
      for (int64_t k : points)
        ASSERT_EQ(kWalkCases[c].mask(q, k), eval(q, k)) << "case " << c << " q=" << q << " k=" << k;
  }
}

TEST(SieveWalkCodegen, WalksWithHugeParametersAreBounded) {
  // The edge cases at a million keys: the walk must end (each call is
  // bounded by the lengths, not by the parameters) and agree with the host.
  std::vector<WalkCasePattern> patterns = walkCasePatterns();
  const int first = kNumWalkCases - kNumRandomWalkCases - kNumEdgeWalkCases;
  for (int c = first; c < first + kNumEdgeWalkCases; ++c) {
    plan::Shape s{128, 128, 1 << 20, 1 << 20};
    plan::Planner planner(patterns[c].pattern, s);
    for (int64_t t : {int64_t(0), int64_t(4095), s.numQueryTiles() - 1}) {
      int64_t lo = t * s.tileQ, hi = lo + s.tileQ - 1;
      std::vector<std::pair<int, bool>> got;
      kWalkCases[c].walk(false, lo, hi, 0, s.tileK, s.kLen, got);
      ASSERT_EQ(got, expand(planner.walkKeyTiles(t))) << "edge case " << c - first << " tile " << t;
    }
  }
}

TEST(SieveWalkCodegen, GeneratedWalksAreThePlannersWalks) {
  std::vector<WalkCasePattern> patterns = walkCasePatterns();
  std::mt19937_64 rng(7);
  int64_t compared = 0;
  for (int c = 0; c < kNumWalkCases; ++c) {
    const mask::Pattern &p = patterns[c].pattern;
    SCOPED_TRACE("case " + std::to_string(c));
    for (int trial = 0; trial < 6; ++trial) {
      plan::Shape s;
      s.kLen = 1 + rng() % 160;
      s.qLen = 1 + rng() % s.kLen;
      s.tileQ = 1 + rng() % 40;
      s.tileK = 1 + rng() % 40;
      plan::Planner planner(p, s);
      for (int64_t t = 0; t < s.numQueryTiles(); ++t) {
        int64_t lo = s.queryOffset() + t * s.tileQ, hi = std::min(lo + s.tileQ, s.kLen) - 1;
        std::vector<std::pair<int, bool>> got;
        kWalkCases[c].walk(false, lo, hi, 0, s.tileK, s.kLen, got);
        ASSERT_EQ(got, expand(planner.walkKeyTiles(t))) << "forward, query tile " << t;
        ++compared;
      }
      for (int64_t j = 0; j < s.numKeyTiles(); ++j) {
        int64_t lo = j * s.tileK, hi = std::min(lo + s.tileK, s.kLen) - 1;
        std::vector<std::pair<int, bool>> got;
        kWalkCases[c].walk(true, lo, hi, s.queryOffset(), s.tileQ, s.kLen, got);
        ASSERT_EQ(got, expand(planner.walkQueryTiles(j))) << "transposed, key tile " << j;
        ++compared;
      }
    }
  }
  std::printf("compared %lld walks\n", (long long)compared);
}

TEST(SieveWalkCodegen, DecodeSplitsTakeEveryTileExactlyOnce) {
  // Split-KV as the decode kernel takes it: for random patterns, row ranges
  // (a few queries at the end of a sequence) and split counts, the splits'
  // tiles, in split order, are the unsplit walk's (which is the planner's),
  // tags included; each used split takes at least min_tiles tiles when the
  // walk has that many; unused splits take none.
  std::mt19937_64 rng(11);
  int64_t checked = 0;
  for (int c = 0; c < kNumWalkCases; ++c) {
    SCOPED_TRACE("case " + std::to_string(c));
    for (int trial = 0; trial < 8; ++trial) {
      const int64_t kLen = 1 + rng() % 600, rows = 1 + rng() % std::min<int64_t>(kLen, 16);
      const int64_t tile = int64_t(1) << (rng() % 6);
      const int64_t hi = kLen - 1, lo = kLen - rows;
      std::vector<std::pair<int, bool>> whole;
      kWalkCases[c].walk(false, lo, hi, 0, tile, kLen, whole);
      const int splits = 1 + int(rng() % 9), minTiles = 1 + int(rng() % 3);
      std::vector<std::pair<int, bool>> joined;
      bool sawUnused = false;
      for (int s = 0; s < splits; ++s) {
        std::vector<std::pair<int, bool>> part;
        const long long n = kWalkCases[c].split(lo, hi, tile, kLen, s, splits, minTiles, part);
        ASSERT_EQ(int64_t(part.size()), n) << "split " << s << " took fewer tiles than it said";
        // The kernel's form: the count shared by a warp's 32 lanes (most
        // chunks are empty or cut runs here), and by 3 uneven chunks.
        for (int lanes : {32, 3}) {
          std::vector<std::pair<int, bool>> byLanes;
          const long long m =
              kWalkCases[c].splitLanes(lo, hi, tile, kLen, s, splits, minTiles, lanes, byLanes);
          // -1: next_after took a tile while counting; -2: its count
          // differs from count_range's.
          ASSERT_EQ(m, n) << "split " << s << " with the count over " << lanes << " lanes";
          ASSERT_EQ(byLanes, part) << "split " << s << " with the count over " << lanes << " lanes";
        }
        if (n == 0) {
          sawUnused = true;
          continue;
        }
        ASSERT_FALSE(sawUnused) << "split " << s << " is used after an unused one";
        if (int64_t(whole.size()) >= minTiles) {
          EXPECT_GE(n, minTiles) << "split " << s << " of " << splits;
        }
        joined.insert(joined.end(), part.begin(), part.end());
      }
      ASSERT_EQ(joined, whole) << splits << " splits, min " << minTiles << ", rows [" << lo << ", "
                               << hi << "], tile " << tile << ", " << kLen << " keys";
      ++checked;
    }
  }
  std::printf("checked %lld split schedules\n", (long long)checked);
}
