//===- SievePlannerTest.cpp - Walks against brute force -------------===//
//
// For random patterns, lengths (not multiples of blocks or tiles) and tile
// sizes, the walk must list exactly the tiles brute force over the reference
// evaluator finds attended, ascending, without duplicates, each with the
// exact full/partial tag, in both directions. With custom predicates the walk
// is conservative: it may list unattended tiles and tag full tiles partial,
// but never misses a tile or tags a partial one full.
//
//===----------------------------------------------------------------------===//

#include "../SieveRandomPattern.h"
#include "passes/SievePlanner.h"

#include <gtest/gtest.h>

using namespace sieve;
using namespace sieve::plan;

namespace {
/// How often brute force saw each class, so the tests can show they are not
/// vacuous.
int64_t seen[3];

/// Brute-force class of a tile pair (in-bounds pairs only).
TileClass bruteForce(mask::Evaluator &eval, int64_t q0, int64_t q1, int64_t k0,
                     int64_t k1) {
  bool any = false, all = true;
  for (int64_t q = q0; q <= q1; ++q)
    for (int64_t k = k0; k <= k1; ++k) {
      bool m = eval(q, k);
      any |= m;
      all &= m;
    }
  return !any ? TileClass::Empty : all ? TileClass::Full : TileClass::Partial;
}

/// Expands runs to one class per tile; checks ascending and disjoint.
std::vector<TileClass> expand(const std::vector<TileRun> &runs, int64_t n,
                              std::string &problem) {
  std::vector<TileClass> out(n, TileClass::Empty);
  int64_t last = -1;
  for (const TileRun &r : runs) {
    if (r.begin <= last || r.begin >= r.end || r.end > n)
      problem = "runs not ascending, empty or out of range";
    for (int64_t t = r.begin; t < r.end && t < n; ++t)
      out[t] = r.full ? TileClass::Full : TileClass::Partial;
    last = r.end - 1;
  }
  return out;
}

void checkPattern(const mask::Pattern &p, const Shape &s, bool exact) {
  Planner planner(p, s);
  mask::Evaluator eval(p);
  auto qRange = [&](int64_t t) {
    return std::pair(s.queryOffset() + t * s.tileQ,
                     s.queryOffset() + std::min((t + 1) * s.tileQ, s.qLen) - 1);
  };
  auto kRange = [&](int64_t j) {
    return std::pair(j * s.tileK, std::min((j + 1) * s.tileK, s.kLen) - 1);
  };
  std::string problem;
  // want[t][j]
  std::vector<std::vector<TileClass>> want(s.numQueryTiles());
  for (int64_t t = 0; t < s.numQueryTiles(); ++t)
    for (int64_t j = 0; j < s.numKeyTiles(); ++j) {
      auto [q0, q1] = qRange(t);
      auto [k0, k1] = kRange(j);
      want[t].push_back(bruteForce(eval, q0, q1, k0, k1));
      ++seen[int(want[t].back())];
    }
  auto compare = [&](TileClass got, TileClass w, int64_t t, int64_t j,
                     const char *dir) {
    if (exact)
      ASSERT_EQ(int(got), int(w)) << dir << " t=" << t << " j=" << j;
    else {
      ASSERT_FALSE(w != TileClass::Empty && got == TileClass::Empty)
          << dir << " missed t=" << t << " j=" << j;
      ASSERT_FALSE(got == TileClass::Full && w != TileClass::Full)
          << dir << " wrongly full t=" << t << " j=" << j;
    }
  };
  for (int64_t t = 0; t < s.numQueryTiles(); ++t) {
    std::vector<TileClass> got = expand(planner.keyTiles(t), s.numKeyTiles(), problem);
    ASSERT_EQ(problem, "");
    for (int64_t j = 0; j < s.numKeyTiles(); ++j)
      compare(got[j], want[t][j], t, j, "forward");
  }
  for (int64_t j = 0; j < s.numKeyTiles(); ++j) {
    std::vector<TileClass> got = expand(planner.queryTiles(j), s.numQueryTiles(), problem);
    ASSERT_EQ(problem, "");
    for (int64_t t = 0; t < s.numQueryTiles(); ++t)
      compare(got[t], want[t][j], t, j, "transposed");
  }
}
} // namespace

TEST(SievePlanner, WalksMatchBruteForce) {
  test::RandomPattern gen(17, /*predicates=*/false);
  for (int i = 0; i < 4000; ++i) {
    mask::Pattern p = gen.next();
    Shape s;
    s.kLen = gen.uniform(1, 160);
    s.qLen = gen.uniform(1, s.kLen);
    s.tileQ = gen.uniform(1, 40);
    s.tileK = gen.uniform(1, 40);
    SCOPED_TRACE("pattern " + std::to_string(i) + " kLen=" + std::to_string(s.kLen) +
                 " qLen=" + std::to_string(s.qLen) + " tiles=" +
                 std::to_string(s.tileQ) + "x" + std::to_string(s.tileK));
    checkPattern(p, s, /*exact=*/true);
    if (HasFatalFailure())
      return;
  }
  for (int c = 0; c < 3; ++c)
    EXPECT_GT(seen[c], 10000) << "tile class " << c << " barely exercised";
}

TEST(SievePlanner, PredicateWalksAreConservative) {
  test::RandomPattern gen(23, /*predicates=*/true);
  for (int i = 0; i < 600; ++i) {
    mask::Pattern p = gen.next();
    Shape s;
    s.kLen = gen.uniform(1, 120);
    s.qLen = gen.uniform(1, s.kLen);
    s.tileQ = gen.uniform(1, 32);
    s.tileK = gen.uniform(1, 32);
    SCOPED_TRACE("pattern " + std::to_string(i));
    checkPattern(p, s, TileClassifier(p).hasPredicates() ? false : true);
    if (HasFatalFailure())
      return;
  }
}

namespace {
/// The kernel's walk (what a kernel visits) must be sound in both
/// directions: every attended tile visited, ascending, no duplicates, full
/// only when every pair is attended. `stats` counts conservative answers.
void checkKernelWalk(const mask::Pattern &p, const Shape &s, int64_t (&stats)[3]) {
  Planner planner(p, s);
  mask::Evaluator eval(p);
  std::string problem;
  for (bool tr : {false, true}) {
    const int64_t own = tr ? s.numKeyTiles() : s.numQueryTiles();
    const int64_t other = tr ? s.numQueryTiles() : s.numKeyTiles();
    for (int64_t i = 0; i < own; ++i) {
      std::vector<TileClass> got =
          expand(tr ? planner.walkQueryTiles(i) : planner.walkKeyTiles(i), other, problem);
      ASSERT_EQ(problem, "");
      for (int64_t j = 0; j < other; ++j) {
        int64_t t = tr ? j : i, k = tr ? i : j;
        int64_t q0 = s.queryOffset() + t * s.tileQ, q1 = std::min(q0 + s.tileQ, s.kLen) - 1;
        int64_t k0 = k * s.tileK, k1 = std::min(k0 + s.tileK, s.kLen) - 1;
        TileClass want = bruteForce(eval, q0, q1, k0, k1);
        ASSERT_FALSE(want != TileClass::Empty && got[j] == TileClass::Empty)
            << (tr ? "transposed" : "forward") << " missed tile " << t << "," << k;
        ASSERT_FALSE(got[j] == TileClass::Full && want != TileClass::Full)
            << (tr ? "transposed" : "forward") << " wrongly full " << t << "," << k;
        ++stats[0];
        stats[1] += want == TileClass::Empty && got[j] != TileClass::Empty;
        stats[2] += want == TileClass::Full && got[j] == TileClass::Partial;
      }
    }
  }
}
} // namespace

TEST(SievePlanner, KernelWalksAreSound) {
  test::RandomPattern gen(41, /*predicates=*/true);
  int64_t stats[3] = {};
  for (int i = 0; i < 4000; ++i) {
    mask::Pattern p = gen.next();
    Shape s;
    s.kLen = gen.uniform(1, 120);
    s.qLen = gen.uniform(1, s.kLen);
    s.tileQ = gen.uniform(1, 32);
    s.tileK = gen.uniform(1, 32);
    SCOPED_TRACE("pattern " + std::to_string(i));
    checkKernelWalk(p, s, stats);
    if (HasFatalFailure())
      return;
  }
  // Conservative answers are allowed for random algebra, but should be rare.
  EXPECT_LT(stats[1], stats[0] / 10) << "empty tiles visited";
  EXPECT_LT(stats[2], stats[0] / 10) << "full tiles tagged partial";
  std::printf("kernel walks: %lld tiles, %lld empty visited, %lld full tagged partial\n",
              (long long)stats[0], (long long)stats[1], (long long)stats[2]);
}

/// A single leaf walked by rows that lie in one block of each side is
/// exact: no empty tile visited and every full tile tagged full. This is
/// the case of the built-ins at the kernels' tiles (tiles divide blocks).
TEST(SievePlanner, LeafWalksAreExactWithinBlocks) {
  test::RandomPattern gen(43, /*predicates=*/false);
  int64_t checked = 0;
  for (int i = 0; i < 3000; ++i) {
    mask::Pattern p = gen.next();
    // Keep one leaf: the first node that is not a combinator.
    mask::Pattern leaf;
    leaf.blockQ = leaf.blockK = p.blockQ;
    for (const mask::Node &n : p.nodes)
      if (n.operands.empty() && n.kind != mask::Kind::Predicate) {
        leaf.root = leaf.add(n);
        break;
      }
    if (leaf.root < 0)
      continue;
    const int64_t tile = leaf.blockQ; // tiles equal to blocks: rows in one block
    Shape s{tile, tile, 0, 0};
    s.kLen = gen.uniform(1, 150);
    s.qLen = s.kLen; // tiles aligned to blocks on both sides
    Planner planner(leaf, s);
    mask::Evaluator eval(leaf);
    std::string problem;
    for (int64_t t = 0; t < s.numQueryTiles(); ++t) {
      std::vector<TileClass> got = expand(planner.walkKeyTiles(t), s.numKeyTiles(), problem);
      for (int64_t j = 0; j < s.numKeyTiles(); ++j) {
        int64_t q0 = t * tile, q1 = std::min(q0 + tile, s.kLen) - 1;
        int64_t k0 = j * tile, k1 = std::min(k0 + tile, s.kLen) - 1;
        ASSERT_EQ(int(got[j]), int(bruteForce(eval, q0, q1, k0, k1)))
            << "leaf " << mask::kindName(leaf.nodes[0].kind) << " pattern " << i << " t=" << t
            << " j=" << j;
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 10000);
}

TEST(SievePlanner, CountsMatchBruteForce) {
  test::RandomPattern gen(29, /*predicates=*/true);
  for (int i = 0; i < 400; ++i) {
    mask::Pattern p = gen.next();
    TileClassifier c(p);
    mask::Evaluator eval(p);
    int64_t q0 = gen.uniform(0, 100), q1 = q0 + gen.uniform(0, 60);
    int64_t k0 = gen.uniform(0, 100), k1 = k0 + gen.uniform(0, 60);
    int64_t want = 0;
    for (int64_t q = q0; q <= q1; ++q)
      for (int64_t k = k0; k <= k1; ++k)
        want += eval(q, k);
    ASSERT_EQ(c.count(q0, q1, k0, k1), want) << "pattern " << i;
  }
}

TEST(SievePlanner, PairsAtDistances) {
  for (int64_t qa = 0; qa < 6; ++qa)
    for (int64_t qz = qa; qz < 9; ++qz)
      for (int64_t ka = 0; ka < 6; ++ka)
        for (int64_t kz = ka; kz < 9; ++kz)
          for (int64_t a = -10; a < 10; a += 3)
            for (int64_t b = a; b < 12; b += 2) {
              int64_t want = 0;
              for (int64_t q = qa; q <= qz; ++q)
                for (int64_t k = ka; k <= kz; ++k)
                  want += q - k >= a && q - k <= b;
              ASSERT_EQ(pairsAtDistances(qa, qz, ka, kz, a, b), want);
            }
}
