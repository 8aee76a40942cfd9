//===- SieveCpuAttention.cpp - Reference attention on the CPU ---*- C++ -*-===//

#include "reference/SieveCpuAttention.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>

using namespace sieve;
using namespace sieve::reference;

namespace {
/// Runs fn(row) for rows [0, n) on every core.
template <typename Fn> void parallelRows(int64_t n, Fn fn) {
  const unsigned workers = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), 64));
  std::atomic<int64_t> next{0};
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w)
    pool.emplace_back([&] {
      for (int64_t r; (r = next.fetch_add(1)) < n;)
        fn(r);
    });
  for (std::thread &t : pool)
    t.join();
}
} // namespace

void reference::forward(const mask::Pattern &pattern, const Problem &p,
                        const std::vector<float> &q, const std::vector<float> &k,
                        const std::vector<float> &v, std::vector<float> &o,
                        std::vector<float> &lse, const std::vector<int64_t> *only) {
  const int64_t d = p.headDim, rows = int64_t(p.batch) * p.heads * p.qLen;
  const int group = p.heads / p.kvHeads;
  const double scale = p.scale > 0 ? p.scale : 1.0 / std::sqrt(double(d));
  o.assign(size_t(rows * d), 0.f);
  lse.assign(size_t(rows), -INFINITY);
  parallelRows(only ? int64_t(only->size()) : rows, [&](int64_t n) {
    const int64_t r = only ? (*only)[size_t(n)] : n;
    const int64_t i = r % p.qLen, h = (r / p.qLen) % p.heads, b = r / (int64_t(p.qLen) * p.heads);
    const int64_t kvBase = (b * p.kvHeads + h / group) * p.kLen;
    const float *qr = &q[size_t(r * d)];
    mask::Evaluator eval(pattern);
    std::vector<double> logits;
    std::vector<int64_t> keys;
    const int64_t qpos = int64_t(p.kLen) - p.qLen + i;
    for (int64_t key = 0; key < p.kLen; ++key) {
      if (!eval(qpos, key))
        continue;
      const float *kr = &k[size_t((kvBase + key) * d)];
      double dot = 0;
      for (int64_t e = 0; e < d; ++e)
        dot += double(qr[e]) * kr[e];
      logits.push_back(dot * scale);
      keys.push_back(key);
    }
    if (keys.empty())
      return;
    double m = *std::max_element(logits.begin(), logits.end()), sum = 0;
    for (double l : logits)
      sum += std::exp(l - m);
    const double rowLse = m + std::log(sum);
    lse[size_t(r)] = float(rowLse);
    std::vector<double> acc(size_t(d), 0.0);
    for (size_t j = 0; j < keys.size(); ++j) {
      const double w = std::exp(logits[j] - rowLse);
      const float *vr = &v[size_t((kvBase + keys[j]) * d)];
      for (int64_t e = 0; e < d; ++e)
        acc[size_t(e)] += w * vr[e];
    }
    for (int64_t e = 0; e < d; ++e)
      o[size_t(r * d + e)] = float(acc[size_t(e)]);
  });
}
