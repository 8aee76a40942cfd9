//===- SieveCpuChunksTest.cpp - The CPU chunks against their definitions ===//
//
// chunkForward over one whole range equals the reference forward; chunks
// split anywhere and merged by LSE equal the whole; the backward equals
// central finite differences of the forward in fp64 (loss sum(dO * O)), for
// random patterns, lengths, head counts and GQA.
//
//===----------------------------------------------------------------------===//

#include "../SieveRandomPattern.h"
#include "reference/SieveCpuChunks.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sieve;
using namespace sieve::reference;

namespace {
template <class T> std::vector<T> randomVector(std::mt19937_64 &rng, size_t n, double scale = 1) {
  std::normal_distribution<double> dist(0, scale);
  std::vector<T> v(n);
  for (T &x : v)
    x = T(dist(rng));
  return v;
}

template <class T> View<T> dense(std::vector<T> &t, int heads, int64_t rows, int64_t cols) {
  return View<T>::dense(t.data(), heads, rows, cols);
}
template <class T>
View<const T> cdense(const std::vector<T> &t, int heads, int64_t rows, int64_t cols) {
  return View<const T>::dense(t.data(), heads, rows, cols);
}

struct Case {
  mask::Pattern pattern;
  Chunk chunk;
};

Case randomCase(test::RandomPattern &gen, int64_t maxLen, int headDim) {
  Case c;
  c.pattern = gen.next();
  Chunk &k = c.chunk;
  k.kvHeads = int(gen.uniform(1, 2));
  k.heads = k.kvHeads * int(gen.uniform(1, 2));
  k.batch = int(gen.uniform(1, 2));
  k.headDim = headDim;
  k.kLen = gen.uniform(1, maxLen);
  k.qLen = gen.uniform(1, k.kLen);
  k.qPos = k.kLen - k.qLen;
  return c;
}
} // namespace

TEST(CpuChunks, WholeRangeEqualsReferenceForward) {
  test::RandomPattern gen(11);
  std::mt19937_64 rng(1);
  for (int iter = 0; iter < 60; ++iter) {
    Case c = randomCase(gen, 90, 8);
    const Chunk &k = c.chunk;
    Problem p;
    p.batch = k.batch, p.heads = k.heads, p.kvHeads = k.kvHeads;
    p.qLen = int(k.qLen), p.kLen = int(k.kLen), p.headDim = k.headDim;
    auto q = randomVector<float>(rng, size_t(k.batch * k.heads * k.qLen * 8));
    auto kk = randomVector<float>(rng, size_t(k.batch * k.kvHeads * k.kLen * 8));
    auto v = randomVector<float>(rng, kk.size());
    std::vector<float> o, lse, o2(q.size()), lse2(q.size() / 8);
    forward(c.pattern, p, q, kk, v, o, lse);
    chunkForward<float>(c.pattern, k, cdense(q, k.heads, k.qLen, 8), cdense(kk, k.kvHeads, k.kLen, 8),
                        cdense(v, k.kvHeads, k.kLen, 8), dense(o2, k.heads, k.qLen, 8),
                        dense(lse2, k.heads, k.qLen, 1));
    for (size_t i = 0; i < lse.size(); ++i)
      ASSERT_TRUE(lse[i] == lse2[i] || std::abs(lse[i] - lse2[i]) < 1e-5) << iter << " row " << i;
    for (size_t i = 0; i < o.size(); ++i)
      ASSERT_NEAR(o[i], o2[i], 1e-5) << iter;
  }
}

TEST(CpuChunks, SplitKeysMergedByLseEqualWhole) {
  test::RandomPattern gen(12);
  std::mt19937_64 rng(2);
  int64_t emptyParts = 0;
  for (int iter = 0; iter < 60; ++iter) {
    Case c = randomCase(gen, 80, 4);
    Chunk whole = c.chunk;
    const int64_t hd = 4, rows = whole.batch * whole.heads * whole.qLen;
    auto q = randomVector<double>(rng, size_t(rows * hd));
    auto k = randomVector<double>(rng, size_t(whole.batch * whole.kvHeads * whole.kLen * hd));
    auto v = randomVector<double>(rng, k.size());
    std::vector<double> o(q.size()), lse(static_cast<size_t>(rows));
    chunkForward<double>(c.pattern, whole, cdense(q, whole.heads, whole.qLen, hd),
                         cdense(k, whole.kvHeads, whole.kLen, hd), cdense(v, whole.kvHeads, whole.kLen, hd),
                         dense(o, whole.heads, whole.qLen, hd), dense(lse, whole.heads, whole.qLen, 1));
    // Keys cut at random points; each part at its own global offset.
    std::vector<int64_t> cuts{0, whole.kLen};
    for (int i = int(gen.uniform(0, 4)); i > 0; --i)
      cuts.push_back(gen.uniform(0, whole.kLen));
    std::sort(cuts.begin(), cuts.end());
    std::vector<std::vector<double>> os, lses;
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      Chunk part = whole;
      part.kPos = cuts[i], part.kLen = cuts[i + 1] - cuts[i];
      os.emplace_back(q.size());
      lses.emplace_back(static_cast<size_t>(rows));
      View<const double> kv = cdense(k, whole.kvHeads, whole.kLen, hd).from(cuts[i]);
      View<const double> vv = cdense(v, whole.kvHeads, whole.kLen, hd).from(cuts[i]);
      chunkForward<double>(c.pattern, part, cdense(q, whole.heads, whole.qLen, hd), kv, vv,
                           dense(os.back(), whole.heads, whole.qLen, hd),
                           dense(lses.back(), whole.heads, whole.qLen, 1));
      for (double x : lses.back())
        emptyParts += x == -INFINITY;
    }
    std::vector<View<const double>> po, pl;
    for (size_t i = 0; i < os.size(); ++i) {
      po.push_back(cdense(os[i], whole.heads, whole.qLen, hd));
      pl.push_back(cdense(lses[i], whole.heads, whole.qLen, 1));
    }
    std::vector<double> mo(q.size()), ml(static_cast<size_t>(rows));
    mergeByLse<double>(whole, po, pl, dense(mo, whole.heads, whole.qLen, hd),
                       dense(ml, whole.heads, whole.qLen, 1));
    for (size_t i = 0; i < ml.size(); ++i)
      ASSERT_TRUE(ml[i] == lse[i] || std::abs(ml[i] - lse[i]) < 1e-12) << iter;
    for (size_t i = 0; i < mo.size(); ++i)
      ASSERT_NEAR(mo[i], o[i], 1e-12) << iter;
    // In place: merging into the first part gives the same.
    mergeByLse<double>(whole, po, pl, dense(os[0], whole.heads, whole.qLen, hd),
                       dense(lses[0], whole.heads, whole.qLen, 1));
    EXPECT_EQ(os[0], mo);
  }
  EXPECT_GT(emptyParts, 0) << "no part without keys: the -inf case went untested";
}

TEST(CpuChunks, BackwardEqualsFiniteDifferences) {
  test::RandomPattern gen(13);
  std::mt19937_64 rng(3);
  int64_t checked = 0;
  for (int iter = 0; iter < 25; ++iter) {
    Case c = randomCase(gen, 24, 3);
    Chunk ch = c.chunk;
    const int64_t hd = 3;
    // Queries at an offset that is not end-aligned, keys at another.
    ch.qPos = gen.uniform(0, 30), ch.kPos = gen.uniform(0, 30);
    ch.scale = 0.7;
    const size_t qn = size_t(ch.batch * ch.heads * ch.qLen * hd);
    const size_t kn = size_t(ch.batch * ch.kvHeads * ch.kLen * hd);
    auto q = randomVector<double>(rng, qn), k = randomVector<double>(rng, kn);
    auto v = randomVector<double>(rng, kn), dO = randomVector<double>(rng, qn);
    auto loss = [&](const std::vector<double> &qq, const std::vector<double> &kk,
                    const std::vector<double> &vv) {
      std::vector<double> o(qn), lse(qn / hd);
      chunkForward<double>(c.pattern, ch, cdense(qq, ch.heads, ch.qLen, hd),
                           cdense(kk, ch.kvHeads, ch.kLen, hd), cdense(vv, ch.kvHeads, ch.kLen, hd),
                           dense(o, ch.heads, ch.qLen, hd), dense(lse, ch.heads, ch.qLen, 1));
      double l = 0;
      for (size_t i = 0; i < qn; ++i)
        l += o[i] * dO[i];
      return std::pair(l, std::pair(o, lse));
    };
    auto [l0, ol] = loss(q, k, v);
    const auto &[o, lse] = ol;
    std::vector<double> d(qn / hd), dq(qn), dk(kn), dv(kn);
    softmaxGradDot<double>(ch, cdense(o, ch.heads, ch.qLen, hd), cdense(dO, ch.heads, ch.qLen, hd),
                           dense(d, ch.heads, ch.qLen, 1));
    chunkBackward<double>(c.pattern, ch, cdense(q, ch.heads, ch.qLen, hd),
                          cdense(k, ch.kvHeads, ch.kLen, hd), cdense(v, ch.kvHeads, ch.kLen, hd),
                          cdense(dO, ch.heads, ch.qLen, hd), cdense(lse, ch.heads, ch.qLen, 1),
                          cdense(d, ch.heads, ch.qLen, 1), dense(dq, ch.heads, ch.qLen, hd),
                          dense(dk, ch.kvHeads, ch.kLen, hd), dense(dv, ch.kvHeads, ch.kLen, hd));
    const double h = 1e-6;
    auto fd = [&](std::vector<double> &x, size_t i) {
      const double keep = x[i];
      x[i] = keep + h;
      double up = loss(q, k, v).first;
      x[i] = keep - h;
      double down = loss(q, k, v).first;
      x[i] = keep;
      return (up - down) / (2 * h);
    };
    for (size_t i = 0; i < qn; ++i)
      ASSERT_NEAR(dq[i], fd(q, i), 1e-6) << "dq " << iter << " " << i;
    for (size_t i = 0; i < kn; ++i) {
      ASSERT_NEAR(dk[i], fd(k, i), 1e-6) << "dk " << iter << " " << i;
      ASSERT_NEAR(dv[i], fd(v, i), 1e-6) << "dv " << iter << " " << i;
      checked += dk[i] != 0;
    }
    (void)l0;
  }
  EXPECT_GT(checked, 100) << "too few nonzero gradients to mean anything";
}

TEST(CpuChunks, WholeProblemBackwardIsTheEndAlignedChunk) {
  // reference::backward, the single-device reference of the distributed
  // tests, is the fp64-checked chunk backward with queries end-aligned.
  test::RandomPattern gen(14);
  std::mt19937_64 rng(4);
  for (int iter = 0; iter < 30; ++iter) {
    Case c = randomCase(gen, 60, 4);
    const Chunk &ch = c.chunk;
    const int64_t hd = 4;
    Problem pr;
    pr.batch = ch.batch, pr.heads = ch.heads, pr.kvHeads = ch.kvHeads;
    pr.qLen = int(ch.qLen), pr.kLen = int(ch.kLen), pr.headDim = int(hd);
    const size_t qn = size_t(ch.batch * ch.heads * ch.qLen * hd);
    const size_t kn = size_t(ch.batch * ch.kvHeads * ch.kLen * hd);
    auto q = randomVector<float>(rng, qn), k = randomVector<float>(rng, kn);
    auto v = randomVector<float>(rng, kn), dO = randomVector<float>(rng, qn);
    std::vector<float> o, lse, dq, dk, dv;
    forward(c.pattern, pr, q, k, v, o, lse);
    backward(c.pattern, pr, q, k, v, o, lse, dO, dq, dk, dv);
    auto wide = [](const std::vector<float> &x) { return std::vector<double>(x.begin(), x.end()); };
    std::vector<double> q2 = wide(q), k2 = wide(k), v2 = wide(v), d2 = wide(dO), o2(qn), l2(qn / hd);
    chunkForward<double>(c.pattern, ch, cdense(q2, ch.heads, ch.qLen, hd),
                         cdense(k2, ch.kvHeads, ch.kLen, hd), cdense(v2, ch.kvHeads, ch.kLen, hd),
                         dense(o2, ch.heads, ch.qLen, hd), dense(l2, ch.heads, ch.qLen, 1));
    std::vector<double> dd(qn / hd), gq(qn), gk(kn), gv(kn);
    softmaxGradDot<double>(ch, cdense(o2, ch.heads, ch.qLen, hd), cdense(d2, ch.heads, ch.qLen, hd),
                           dense(dd, ch.heads, ch.qLen, 1));
    chunkBackward<double>(c.pattern, ch, cdense(q2, ch.heads, ch.qLen, hd),
                          cdense(k2, ch.kvHeads, ch.kLen, hd), cdense(v2, ch.kvHeads, ch.kLen, hd),
                          cdense(d2, ch.heads, ch.qLen, hd), cdense(l2, ch.heads, ch.qLen, 1),
                          cdense(dd, ch.heads, ch.qLen, 1), dense(gq, ch.heads, ch.qLen, hd),
                          dense(gk, ch.kvHeads, ch.kLen, hd), dense(gv, ch.kvHeads, ch.kLen, hd));
    for (size_t i = 0; i < qn; ++i)
      ASSERT_NEAR(dq[i], gq[i], 1e-4 * (1 + std::abs(gq[i]))) << iter;
    for (size_t i = 0; i < kn; ++i) {
      ASSERT_NEAR(dk[i], gk[i], 1e-4 * (1 + std::abs(gk[i]))) << iter;
      ASSERT_NEAR(dv[i], gv[i], 1e-4 * (1 + std::abs(gv[i]))) << iter;
    }
  }
}
