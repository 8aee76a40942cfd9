//===- SieveWalkCodegenTest.cpp - Generated walks against brute force -===//
//
// The walk and mask emitted for the GPU, compiled for the host, must agree
// with the reference evaluator: the mask exactly; the walk soundly (every
// attended tile visited, ascending, no duplicates, full only when every pair
// is attended), and for the built-ins exactly when a tile's rows lie in one
// query block (no empty tile visited, every full tile tagged full).
//
//===----------------------------------------------------------------------===//

#include "WalkCaseList.h"
#include "passes/SieveTileClassifier.h"

#include <gtest/gtest.h>

using namespace sieve;

TEST(SieveWalkCodegen, GeneratedCodeMatchesTheReference) {
  std::vector<WalkCasePattern> patterns = walkCasePatterns();
  ASSERT_EQ(int(patterns.size()), kNumWalkCases);
  std::mt19937_64 rng(7);
  int64_t visitedEmpty = 0, missedFull = 0, checkedTiles = 0;
  for (int c = 0; c < kNumWalkCases; ++c) {
    const WalkCase &wc = kWalkCases[c];
    const mask::Pattern &p = patterns[c].pattern;
    mask::Evaluator eval(p);
    SCOPED_TRACE("case " + std::to_string(c));
    for (int64_t q = 0; q < 90; ++q)
      for (int64_t k = 0; k < 90; ++k)
        ASSERT_EQ(wc.mask(q, k), eval(q, k)) << "mask q=" << q << " k=" << k;

    plan::TileClassifier tiles(p);
    for (int trial = 0; trial < 6; ++trial) {
      int64_t kLen = 1 + rng() % 160, qLen = 1 + rng() % kLen, tq = 1 + rng() % 40;
      for (int64_t q0 = kLen - qLen; q0 < kLen; q0 += tq) {
        int64_t q1 = std::min(q0 + tq, kLen) - 1;
        std::vector<std::pair<int, bool>> walk;
        wc.walk(q0, q1 + 1, kLen, walk);
        std::vector<int> seen(size_t((kLen + wc.tileK - 1) / wc.tileK), 0);
        int last = -1;
        for (auto [j, full] : walk) {
          ASSERT_GT(j, last) << "not ascending";
          ASSERT_LT(j, int(seen.size()));
          last = j;
          seen[j] = full ? 2 : 1;
        }
        for (size_t j = 0; j < seen.size(); ++j) {
          int64_t k0 = j * wc.tileK, k1 = std::min<int64_t>(k0 + wc.tileK, kLen) - 1;
          int64_t n = tiles.count(q0, q1, k0, k1), area = (q1 - q0 + 1) * (k1 - k0 + 1);
          ++checkedTiles;
          ASSERT_FALSE(n > 0 && seen[j] == 0) << "missed tile " << j << " rows " << q0;
          ASSERT_FALSE(seen[j] == 2 && n != area) << "tile " << j << " wrongly full";
          // Rows of one query block behave alike, so there the built-ins'
          // walks are exact; across blocks a union whose operands cover
          // different rows is conservatively partial.
          if (patterns[c].builtin && q0 / p.blockQ == q1 / p.blockQ) {
            ASSERT_FALSE(n == 0 && seen[j] != 0) << "built-in visits empty tile " << j;
            ASSERT_FALSE(n == area && seen[j] == 1) << "built-in tags full tile " << j << " partial";
          }
          visitedEmpty += n == 0 && seen[j] != 0;
          missedFull += n == area && seen[j] == 1;
        }
      }
    }
  }
  // Conservative answers are allowed for random algebra, but should be rare.
  EXPECT_LT(visitedEmpty, checkedTiles / 5);
  EXPECT_LT(missedFull, checkedTiles / 5);
  std::printf("checked %lld tiles: %lld empty visited, %lld full tagged partial\n",
              (long long)checkedTiles, (long long)visitedEmpty, (long long)missedFull);
}
