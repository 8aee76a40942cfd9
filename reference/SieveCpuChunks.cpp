//===- SieveCpuChunks.cpp - Attention of one query range to one key range -===//

#include "reference/SieveCpuChunks.h"

#include <algorithm>
#include <cmath>

using namespace sieve;
using namespace sieve::reference;

double Chunk::softmaxScale() const { return scale > 0 ? scale : 1.0 / std::sqrt(double(headDim)); }

namespace {
template <class T> double dot(const T *a, const T *b, int64_t n) {
  double s = 0;
  for (int64_t e = 0; e < n; ++e)
    s += double(a[e]) * double(b[e]);
  return s;
}

/// The keys of the chunk row i attends and their scaled logits.
template <class T>
void logits(mask::Evaluator &eval, const Chunk &c, const T *qr, View<const T> k, int64_t b,
            int64_t kvh, int64_t i, std::vector<int64_t> &keys, std::vector<double> &s) {
  keys.clear();
  s.clear();
  const double scale = c.softmaxScale();
  for (int64_t j = 0; j < c.kLen; ++j) {
    if (!eval(c.qPos + i, c.kPos + j))
      continue;
    keys.push_back(j);
    s.push_back(scale * dot(qr, k.row(b, kvh, j), c.headDim));
  }
}
} // namespace

template <class T>
void reference::chunkForward(const mask::Pattern &pattern, const Chunk &c, View<const T> q,
                             View<const T> k, View<const T> v, View<T> o, View<T> lse) {
  mask::Evaluator eval(pattern);
  const int group = c.heads / c.kvHeads;
  std::vector<int64_t> keys;
  std::vector<double> s, acc(size_t(c.headDim));
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.qLen; ++i) {
        logits(eval, c, q.row(b, h, i), k, b, h / group, i, keys, s);
        T *out = o.row(b, h, i);
        std::fill(acc.begin(), acc.end(), 0.0);
        double rowLse = -INFINITY;
        if (!keys.empty()) {
          const double m = *std::max_element(s.begin(), s.end());
          double sum = 0;
          for (double x : s)
            sum += std::exp(x - m);
          rowLse = m + std::log(sum);
          for (size_t j = 0; j < keys.size(); ++j) {
            const double w = std::exp(s[j] - rowLse);
            const T *vr = v.row(b, h / group, keys[j]);
            for (int64_t e = 0; e < c.headDim; ++e)
              acc[size_t(e)] += w * double(vr[e]);
          }
        }
        for (int64_t e = 0; e < c.headDim; ++e)
          out[e] = T(acc[size_t(e)]);
        *lse.row(b, h, i) = T(rowLse);
      }
}

template <class T>
void reference::mergeByLse(const Chunk &c, const std::vector<View<const T>> &parts,
                           const std::vector<View<const T>> &lses, View<T> o, View<T> lse) {
  const size_t n = parts.size();
  std::vector<double> w(n);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.qLen; ++i) {
        double m = -INFINITY;
        for (size_t p = 0; p < n; ++p)
          m = std::max(m, double(*lses[p].row(b, h, i)));
        double total = -INFINITY;
        if (m > -INFINITY) {
          double sum = 0;
          for (size_t p = 0; p < n; ++p)
            sum += std::exp(double(*lses[p].row(b, h, i)) - m);
          total = m + std::log(sum);
        }
        // Every weight before any write: o and lse may alias parts[0].
        for (size_t p = 0; p < n; ++p)
          w[p] = m > -INFINITY ? std::exp(double(*lses[p].row(b, h, i)) - total) : 0.0;
        T *out = o.row(b, h, i);
        for (int64_t e = 0; e < c.headDim; ++e) {
          double x = 0;
          for (size_t p = 0; p < n; ++p)
            if (w[p] != 0)
              x += w[p] * double(parts[p].row(b, h, i)[e]);
          out[e] = T(x);
        }
        *lse.row(b, h, i) = T(total);
      }
}

template <class T>
void reference::softmaxGradDot(const Chunk &c, View<const T> o, View<const T> dO, View<T> d) {
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.qLen; ++i)
        *d.row(b, h, i) = T(dot(o.row(b, h, i), dO.row(b, h, i), c.headDim));
}

template <class T>
void reference::chunkBackward(const mask::Pattern &pattern, const Chunk &c, View<const T> q,
                              View<const T> k, View<const T> v, View<const T> dO,
                              View<const T> lse, View<const T> d, View<T> dq, View<T> dk,
                              View<T> dv) {
  mask::Evaluator eval(pattern);
  const int group = c.heads / c.kvHeads;
  const double scale = c.softmaxScale();
  const int64_t hd = c.headDim;
  // dK and dV of the chunk in double, added to dk and dv once at the end.
  std::vector<double> gk(size_t(c.batch * c.kvHeads * c.kLen * hd)), gv(gk.size());
  auto at = [&](int64_t b, int64_t kvh, int64_t j) {
    return size_t(((b * c.kvHeads + kvh) * c.kLen + j) * hd);
  };
  std::vector<int64_t> keys;
  std::vector<double> s, gq(static_cast<size_t>(hd));
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.heads; ++h)
      for (int64_t i = 0; i < c.qLen; ++i) {
        const double rowLse = double(*lse.row(b, h, i));
        if (rowLse == -INFINITY)
          continue; // attends no key anywhere: no gradient
        const T *qr = q.row(b, h, i), *gor = dO.row(b, h, i);
        const int64_t kvh = h / group;
        logits(eval, c, qr, k, b, kvh, i, keys, s);
        const double rowD = double(*d.row(b, h, i));
        std::fill(gq.begin(), gq.end(), 0.0);
        for (size_t n = 0; n < keys.size(); ++n) {
          const int64_t j = keys[n];
          const double p = std::exp(s[n] - rowLse);
          const double ds = p * (dot(gor, v.row(b, kvh, j), hd) - rowD);
          const T *kr = k.row(b, kvh, j);
          double *gkr = &gk[at(b, kvh, j)], *gvr = &gv[at(b, kvh, j)];
          for (int64_t e = 0; e < hd; ++e) {
            gvr[e] += p * double(gor[e]);
            gq[size_t(e)] += scale * ds * double(kr[e]);
            gkr[e] += scale * ds * double(qr[e]);
          }
        }
        T *dqr = dq.row(b, h, i);
        for (int64_t e = 0; e < hd; ++e)
          dqr[e] = T(double(dqr[e]) + gq[size_t(e)]);
      }
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t kvh = 0; kvh < c.kvHeads; ++kvh)
      for (int64_t j = 0; j < c.kLen; ++j) {
        T *dkr = dk.row(b, kvh, j), *dvr = dv.row(b, kvh, j);
        for (int64_t e = 0; e < hd; ++e) {
          dkr[e] = T(double(dkr[e]) + gk[at(b, kvh, j) + size_t(e)]);
          dvr[e] = T(double(dvr[e]) + gv[at(b, kvh, j) + size_t(e)]);
        }
      }
}

void reference::backward(const mask::Pattern &pattern, const Problem &p,
                         const std::vector<float> &q, const std::vector<float> &k,
                         const std::vector<float> &v, const std::vector<float> &o,
                         const std::vector<float> &lse, const std::vector<float> &dO,
                         std::vector<float> &dq, std::vector<float> &dk, std::vector<float> &dv) {
  Chunk c;
  c.batch = p.batch, c.heads = p.heads, c.kvHeads = p.kvHeads, c.headDim = p.headDim;
  c.scale = p.scale;
  c.qPos = int64_t(p.kLen) - p.qLen, c.qLen = p.qLen, c.kPos = 0, c.kLen = p.kLen;
  dq.assign(q.size(), 0.f);
  dk.assign(k.size(), 0.f);
  dv.assign(v.size(), 0.f);
  std::vector<float> d(lse.size());
  auto rows = [&](const std::vector<float> &t, int heads, int64_t len, int64_t cols) {
    return View<const float>::dense(t.data(), heads, len, cols);
  };
  auto out = [&](std::vector<float> &t, int heads, int64_t len, int64_t cols) {
    return View<float>::dense(t.data(), heads, len, cols);
  };
  softmaxGradDot<float>(c, rows(o, p.heads, p.qLen, p.headDim), rows(dO, p.heads, p.qLen, p.headDim),
                        out(d, p.heads, p.qLen, 1));
  chunkBackward<float>(pattern, c, rows(q, p.heads, p.qLen, p.headDim),
                       rows(k, p.kvHeads, p.kLen, p.headDim), rows(v, p.kvHeads, p.kLen, p.headDim),
                       rows(dO, p.heads, p.qLen, p.headDim), rows(lse, p.heads, p.qLen, 1),
                       rows(d, p.heads, p.qLen, 1), out(dq, p.heads, p.qLen, p.headDim),
                       out(dk, p.kvHeads, p.kLen, p.headDim), out(dv, p.kvHeads, p.kLen, p.headDim));
}

// The two element types: float (the CPU executor) and double (the checks).
#define SIEVE_INSTANTIATE(T)                                                                   \
  template void reference::chunkForward<T>(const mask::Pattern &, const Chunk &, View<const T>, \
                                           View<const T>, View<const T>, View<T>, View<T>);    \
  template void reference::mergeByLse<T>(const Chunk &, const std::vector<View<const T>> &,    \
                                         const std::vector<View<const T>> &, View<T>, View<T>); \
  template void reference::softmaxGradDot<T>(const Chunk &, View<const T>, View<const T>,      \
                                             View<T>);                                         \
  template void reference::chunkBackward<T>(const mask::Pattern &, const Chunk &,              \
                                            View<const T>, View<const T>, View<const T>,       \
                                            View<const T>, View<const T>, View<const T>,       \
                                            View<T>, View<T>, View<T>);
SIEVE_INSTANTIATE(float)
SIEVE_INSTANTIATE(double)
#undef SIEVE_INSTANTIATE
