//===- SieveParallelTestUtils.h - Running ranks in tests --------*- C++ -*-===//

#ifndef SIEVE_TEST_UNIT_PARALLEL_SIEVEPARALLELTESTUTILS_H
#define SIEVE_TEST_UNIT_PARALLEL_SIEVEPARALLELTESTUTILS_H

#include "parallel/SieveContextParallel.h"
#include "reference/SieveCpuChunks.h"

#include <cmath>
#include <random>

namespace sieve::test {

inline std::vector<float> randomVector(std::mt19937_64 &rng, size_t n) {
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// max |got - want| / max |want|.
inline double relErr(const std::vector<float> &got, const std::vector<float> &want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num = std::max(num, double(std::abs(got[i] - want[i])));
    den = std::max(den, double(std::abs(want[i])));
  }
  return num / std::max(den, 1e-30);
}

/// Copies rank r's rows of a [lines, seqLen, cols] tensor into `local`, or
/// (put) `local` back into `global`.
inline void shard(const parallel::ExchangePlan &plan, int r, int64_t lines, int64_t cols,
                  std::vector<float> &global, std::vector<float> &local, bool put) {
  const int64_t n = plan.seqLen, m = plan.shardTokens(r);
  if (!put)
    local.assign(size_t(lines * m * cols), 0.f);
  for (int64_t l = 0; l < lines; ++l)
    for (int64_t i = 0; i < m; ++i) {
      const int64_t g = plan.localToGlobal(r, i);
      for (int64_t e = 0; e < cols; ++e) {
        float &loc = local[size_t((l * m + i) * cols + e)];
        float &glob = global[size_t((l * n + g) * cols + e)];
        (put ? glob : loc) = put ? loc : glob;
      }
    }
}

/// A problem over the whole sequence and what the ranks made of it, in
/// sequence order.
struct Distributed {
  parallel::AttentionShape shape;
  int64_t n = 0;
  std::vector<float> q, k, v, dO;          ///< Inputs.
  std::vector<float> o, lse, dq, dk, dv;   ///< Outputs (NaN until written).
  std::vector<parallel::RankStats> stats;  ///< The forward's, per rank.

  void random(std::mt19937_64 &rng) {
    const size_t qn = size_t(shape.batch * shape.heads * n * shape.headDim);
    const size_t kn = size_t(shape.batch * shape.kvHeads * n * shape.headDim);
    q = randomVector(rng, qn), k = randomVector(rng, kn), v = randomVector(rng, kn);
    dO = randomVector(rng, qn);
  }
  void prepare(int ranks) {
    o.assign(q.size(), NAN), dq.assign(q.size(), NAN);
    lse.assign(q.size() / size_t(shape.headDim), NAN);
    dk.assign(k.size(), NAN), dv.assign(k.size(), NAN);
    stats.assign(size_t(ranks), {});
  }

  /// One rank's forward and backward on the CPU executor; thread-safe for
  /// distinct ranks after prepare().
  Status runRank(const mask::Pattern &pattern, const parallel::ExchangePlan &plan,
                 parallel::Transport &t) {
    const int r = t.rank();
    const int64_t ql = shape.batch * shape.heads, kl = shape.batch * shape.kvHeads;
    const int64_t d = shape.headDim;
    std::vector<float> lq, lk, lv, ldo, lo, ll, ldq, ldk, ldv;
    shard(plan, r, ql, d, q, lq, false);
    shard(plan, r, kl, d, k, lk, false);
    shard(plan, r, kl, d, v, lv, false);
    shard(plan, r, ql, d, dO, ldo, false);
    lo.assign(lq.size(), NAN), ll.assign(lq.size() / size_t(d), NAN);
    ldq.assign(lq.size(), NAN), ldk.assign(lk.size(), NAN), ldv.assign(lk.size(), NAN);
    parallel::CpuChunkBackend backend(pattern);
    if (Status s = parallel::contextParallelForward(
            plan, shape, t, backend, {lq.data(), lk.data(), lv.data(), lo.data(), ll.data()},
            &stats[size_t(r)]);
        !s)
      return s;
    parallel::BackwardTensors bt{lq.data(),  lk.data(),  lv.data(),  lo.data(), ldo.data(),
                                 ll.data(),  ldq.data(), ldk.data(), ldv.data()};
    if (Status s = parallel::contextParallelBackward(plan, shape, t, backend, bt); !s)
      return s;
    shard(plan, r, ql, d, o, lo, true);
    shard(plan, r, ql, 1, lse, ll, true);
    shard(plan, r, ql, d, dq, ldq, true);
    shard(plan, r, kl, d, dk, ldk, true);
    shard(plan, r, kl, d, dv, ldv, true);
    return Status::success();
  }

  /// The single-device reference, and the largest relative error of o, dq,
  /// dk and dv against it; false when an LSE differs.
  bool compare(const mask::Pattern &pattern, double &oErr, double &gradErr) const {
    reference::Problem p;
    p.batch = shape.batch, p.heads = shape.heads, p.kvHeads = shape.kvHeads;
    p.qLen = p.kLen = int(n), p.headDim = shape.headDim;
    std::vector<float> o1, l1, dq1, dk1, dv1;
    reference::forward(pattern, p, q, k, v, o1, l1);
    reference::backward(pattern, p, q, k, v, o1, l1, dO, dq1, dk1, dv1);
    oErr = relErr(o, o1);
    gradErr = std::max({relErr(dq, dq1), relErr(dk, dk1), relErr(dv, dv1)});
    for (size_t i = 0; i < l1.size(); ++i)
      if (!(l1[i] == lse[i] || std::abs(l1[i] - lse[i]) < 1e-4))
        return false;
    return true;
  }
};

} // namespace sieve::test

#endif // SIEVE_TEST_UNIT_PARALLEL_SIEVEPARALLELTESTUTILS_H
