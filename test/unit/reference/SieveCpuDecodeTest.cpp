//===- SieveCpuDecodeTest.cpp - The CPU executor's inference layouts ------===//
//
// The CPU executor over variable-length batches, paged KV and split-KV must
// equal brute-force dense-mask attention (reference::forward, one sequence
// at a time in its own [heads, length, head_dim] layout); paging must not
// change a bit; splitting and combining must agree with the unsplit result
// to fp32 rounding.
//
//===----------------------------------------------------------------------===//

#include "../SieveRandomPattern.h"
#include "reference/SieveCpuAttention.h"
#include "reference/SieveCpuDecode.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <random>

using namespace sieve;
using reference::DecodeProblem;

namespace {
std::vector<float> randomVector(std::mt19937_64 &rng, size_t n) {
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

DecodeProblem randomProblem(std::mt19937_64 &rng) {
  DecodeProblem p;
  p.kvHeads = 1 + int(rng() % 2);
  p.heads = p.kvHeads * (1 + int(rng() % 3));
  p.headDim = 8;
  const int batch = 1 + int(rng() % 4);
  for (int b = 0; b < batch; ++b) {
    const int k = 1 + int(rng() % 150);
    p.kLens.push_back(k);
    p.qLens.push_back(std::min(k, int(rng() % 6))); // 0 queries is allowed
  }
  p.tileK = 1 << (rng() % 5);
  return p;
}

/// A random block table over a shuffled pool with spare pages.
void page(DecodeProblem &p, std::mt19937_64 &rng) {
  p.pageSize = 16;
  int pages = 0;
  p.maxPages = 0;
  for (int k : p.kLens) {
    pages += (k + 15) / 16;
    p.maxPages = std::max(p.maxPages, (k + 15) / 16);
  }
  p.numPages = pages + 3;
  std::vector<int> perm(size_t(p.numPages));
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  p.blockTable.assign(size_t(p.batch()) * p.maxPages, -1);
  int next = 0;
  for (int b = 0; b < p.batch(); ++b)
    for (int j = 0; j < (p.kLens[size_t(b)] + 15) / 16; ++j)
      p.blockTable[size_t(b) * p.maxPages + j] = perm[size_t(next++)];
}
} // namespace

TEST(SieveCpuDecode, VarlenEqualsDenseMaskAttentionPerSequence) {
  test::RandomPattern gen(5);
  std::mt19937_64 rng(9);
  for (int trial = 0; trial < 60; ++trial) {
    const mask::Pattern pattern = gen.next();
    DecodeProblem p = randomProblem(rng);
    ASSERT_EQ(p.validate(), "");
    const std::vector<float> q = randomVector(rng, p.qElements()), k = randomVector(rng, p.kvElements()),
                             v = randomVector(rng, p.kvElements());
    std::vector<float> o, lse;
    reference::decodeForward(pattern, p, q, k, v, o, lse);
    ASSERT_EQ(o.size(), p.qElements());
    ASSERT_EQ(lse.size(), p.lseElements());
    const std::vector<int> cuQ = p.cuQ(), cuK = p.cuK();
    const int d = p.headDim;
    for (int b = 0; b < p.batch(); ++b) {
      const int ql = p.qLens[size_t(b)], kl = p.kLens[size_t(b)];
      if (ql == 0)
        continue;
      // This sequence alone, transposed to [heads, length, d].
      reference::Problem one{1, p.heads, p.kvHeads, ql, kl, d, 0};
      std::vector<float> qs(size_t(p.heads) * ql * d), ks(size_t(p.kvHeads) * kl * d), vs(ks.size());
      for (int h = 0; h < p.heads; ++h)
        for (int i = 0; i < ql; ++i)
          for (int e = 0; e < d; ++e)
            qs[(size_t(h) * ql + i) * d + e] = q[((size_t(cuQ[size_t(b)]) + i) * p.heads + h) * d + e];
      for (int h = 0; h < p.kvHeads; ++h)
        for (int r = 0; r < kl; ++r)
          for (int e = 0; e < d; ++e) {
            const size_t at = ((size_t(cuK[size_t(b)]) + r) * p.kvHeads + h) * d + e;
            ks[(size_t(h) * kl + r) * d + e] = k[at];
            vs[(size_t(h) * kl + r) * d + e] = v[at];
          }
      std::vector<float> ro, rl;
      reference::forward(pattern, one, qs, ks, vs, ro, rl);
      for (int h = 0; h < p.heads; ++h)
        for (int i = 0; i < ql; ++i) {
          const size_t row = size_t(cuQ[size_t(b)]) + i;
          const float want = rl[size_t(h) * ql + i], got = lse[row * p.heads + h];
          if (std::isinf(want))
            ASSERT_TRUE(std::isinf(got) && got < 0) << "trial " << trial << " seq " << b;
          else
            ASSERT_NEAR(got, want, 1e-4) << "trial " << trial << " seq " << b << " head " << h << " row " << i;
          for (int e = 0; e < d; ++e)
            ASSERT_NEAR(o[(row * p.heads + h) * d + e], ro[(size_t(h) * ql + i) * d + e], 1e-4)
                << "trial " << trial << " seq " << b;
        }
    }
  }
}

TEST(SieveCpuDecode, PagedEqualsDenseUnderRandomPagePermutations) {
  test::RandomPattern gen(6);
  std::mt19937_64 rng(10);
  for (int trial = 0; trial < 40; ++trial) {
    const mask::Pattern pattern = gen.next();
    DecodeProblem dense = randomProblem(rng), paged = dense;
    page(paged, rng);
    ASSERT_EQ(paged.validate(), "");
    const std::vector<float> q = randomVector(rng, dense.qElements()),
                             k = randomVector(rng, dense.kvElements()),
                             v = randomVector(rng, dense.kvElements());
    std::vector<float> o1, l1, o2, l2;
    reference::decodeForward(pattern, dense, q, k, v, o1, l1);
    reference::decodeForward(pattern, paged, q, reference::pageKv(paged, k), reference::pageKv(paged, v),
                             o2, l2);
    ASSERT_EQ(o1, o2) << "trial " << trial;
    ASSERT_EQ(l1, l2) << "trial " << trial;
  }
}

TEST(SieveCpuDecode, SplitsAndTheCombineEqualTheUnsplitResult) {
  test::RandomPattern gen(7);
  std::mt19937_64 rng(12);
  for (int trial = 0; trial < 40; ++trial) {
    const mask::Pattern pattern = gen.next();
    DecodeProblem one = randomProblem(rng);
    const std::vector<float> q = randomVector(rng, one.qElements()), k = randomVector(rng, one.kvElements()),
                             v = randomVector(rng, one.kvElements());
    std::vector<float> o1, l1;
    reference::decodeForward(pattern, one, q, k, v, o1, l1);
    for (int splits : {2, 3, 7}) {
      DecodeProblem split = one;
      split.splits = splits;
      std::vector<float> o2, l2;
      reference::decodeForward(pattern, split, q, k, v, o2, l2);
      for (size_t i = 0; i < l1.size(); ++i) {
        if (std::isinf(l1[i]))
          ASSERT_TRUE(std::isinf(l2[i]) && l2[i] < 0);
        else
          ASSERT_NEAR(l2[i], l1[i], 1e-5 * (1 + std::abs(l1[i]))) << "trial " << trial;
      }
      for (size_t i = 0; i < o1.size(); ++i)
        ASSERT_NEAR(o2[i], o1[i], 1e-5) << "trial " << trial << ", " << splits << " splits";
    }
  }
}

TEST(SieveCpuDecode, BadLayoutsAreNamed) {
  DecodeProblem p;
  p.qLens = {2}, p.kLens = {1};
  EXPECT_NE(p.validate().find("need 0 <= queries <= keys"), std::string::npos);
  p.qLens = {1}, p.kLens = {40};
  p.pageSize = 16, p.maxPages = 2, p.numPages = 4, p.blockTable = {0, 1};
  EXPECT_NE(p.validate().find("needs 3 pages"), std::string::npos);
  p.maxPages = 3, p.blockTable = {0, 1, 4};
  EXPECT_NE(p.validate().find("entry [0, 2] is page 4, outside [0, 4)"), std::string::npos);
  p.blockTable = {0, 1, 3};
  EXPECT_EQ(p.validate(), "");
  p.heads = 3, p.kvHeads = 2;
  EXPECT_NE(p.validate().find("multiple of kv heads"), std::string::npos);
}
