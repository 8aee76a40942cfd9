//===- SieveCpuChunks.h - Attention of one query range to one key range -*- C++ -*-===//
//
// The pieces distributed attention is made of, on the CPU: the forward of a
// range of queries against a range of keys, each at its global token
// positions, giving a partial O and LSE; the merge of partial results by
// their LSE; and the backward of one such pair of ranges, which adds its
// share to dQ, dK and dV. Attention over a whole sequence is the special
// case of one query range and one key range, so `backward` here is also the
// single-device reference backward.
//
// Everything is computed in double and stored as T (float or double): the
// fp64 instantiation is what finite differences check the backward against.
// Rows that attend no key give o = 0 and lse = -inf, like the kernels; their
// gradients are zero.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_REFERENCE_SIEVECPUCHUNKS_H
#define SIEVE_REFERENCE_SIEVECPUCHUNKS_H

#include "dialect/SieveMask.h"
#include "reference/SieveCpuAttention.h"

#include <cstdint>
#include <vector>

namespace sieve::reference {

/// A strided [batch, heads, rows, cols] tensor whose last dimension is
/// contiguous; strides are in elements. An LSE or D tensor has cols = 1.
template <class T> struct View {
  T *data = nullptr;
  int64_t batchStride = 0, headStride = 0, rowStride = 0;

  T *row(int64_t b, int64_t h, int64_t i) const {
    return data + b * batchStride + h * headStride + i * rowStride;
  }
  /// The same tensor from row `first` on.
  View from(int64_t first) const {
    View v = *this;
    v.data += first * rowStride;
    return v;
  }
  /// A contiguous tensor with `heads` heads of `rows` rows of `cols`.
  static View dense(T *data, int64_t heads, int64_t rows, int64_t cols) {
    return {data, heads * rows * cols, rows * cols, cols};
  }
  operator View<const T>() const { return {data, batchStride, headStride, rowStride}; }
};

/// Queries at global positions [qPos, qPos + qLen) against keys at
/// [kPos, kPos + kLen). q, o, dO, dQ have `heads` heads; k, v, dK, dV have
/// `kvHeads` (query head h reads key head h / (heads / kvHeads)).
struct Chunk {
  int batch = 1, heads = 1, kvHeads = 1, headDim = 0;
  double scale = 0; ///< 0: 1 / sqrt(headDim).
  int64_t qPos = 0, qLen = 0;
  int64_t kPos = 0, kLen = 0;

  double softmaxScale() const;
};

/// o and lse (natural log) of the chunk's queries over its keys alone.
template <class T>
void chunkForward(const mask::Pattern &pattern, const Chunk &chunk, View<const T> q,
                  View<const T> k, View<const T> v, View<T> o, View<T> lse);

/// Combines n partial results of the same rows into (o, lse):
///   lse = m + log sum_i exp(lse_i - m),  m = max_i lse_i,
///   o   = sum_i exp(lse_i - lse) o_i.
/// Uses chunk.batch, heads, qLen and headDim. o and lse may be parts[0] and
/// lses[0] (an in-place merge). Rows where every lse_i is -inf give o = 0,
/// lse = -inf.
template <class T>
void mergeByLse(const Chunk &chunk, const std::vector<View<const T>> &parts,
                const std::vector<View<const T>> &lses, View<T> o, View<T> lse);

/// D = rowsum(dO * O), the backward's preprocess, for chunk.qLen rows.
template <class T>
void softmaxGradDot(const Chunk &chunk, View<const T> o, View<const T> dO, View<T> d);

/// Adds the chunk's share of the gradient to dq, dk and dv. lse and d are
/// of the whole rows (every key they attend, not only this chunk's): with
/// P = exp(scale * q k^T - lse) on attended pairs, dS = P * (dO v^T - D),
///   dv += P^T dO,  dq += scale * dS k,  dk += scale * dS^T q.
template <class T>
void chunkBackward(const mask::Pattern &pattern, const Chunk &chunk, View<const T> q,
                   View<const T> k, View<const T> v, View<const T> dO, View<const T> lse,
                   View<const T> d, View<T> dq, View<T> dk, View<T> dv);

/// The reference backward over a whole problem (queries end-aligned, like
/// `forward`): dq [batch, heads, qLen, headDim], dk and dv [batch, kvHeads,
/// kLen, headDim] from q, k, v, the forward's o and lse, and dO.
void backward(const mask::Pattern &pattern, const Problem &problem, const std::vector<float> &q,
              const std::vector<float> &k, const std::vector<float> &v,
              const std::vector<float> &o, const std::vector<float> &lse,
              const std::vector<float> &dO, std::vector<float> &dq, std::vector<float> &dk,
              std::vector<float> &dv);

} // namespace sieve::reference

#endif // SIEVE_REFERENCE_SIEVECPUCHUNKS_H
