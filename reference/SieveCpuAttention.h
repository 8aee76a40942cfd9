//===- SieveCpuAttention.h - Reference attention on the CPU -----*- C++ -*-===//
//
// Attention computed the plain way, in double precision, with the pattern's
// mask from the reference evaluator: the oracle GPU checks compare kernels
// with, and what runs where there is no GPU. Tensors are float, row-major
// [batch, heads, length, head_dim]; queries are aligned to the end of the
// keys. Rows that attend no key give o = 0 and lse = -inf, like the kernels.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_REFERENCE_SIEVECPUATTENTION_H
#define SIEVE_REFERENCE_SIEVECPUATTENTION_H

#include "dialect/SieveMask.h"

#include <vector>

namespace sieve::reference {

struct Problem {
  int batch = 1, heads = 1, kvHeads = 1, qLen = 0, kLen = 0, headDim = 128;
  double scale = 0; ///< 0: 1 / sqrt(headDim).
};

/// o [batch, heads, qLen, headDim] and lse [batch, heads, qLen] (natural
/// log) from q [batch, heads, qLen, headDim] and k, v [batch, kvHeads, kLen,
/// headDim]. Uses every core. With `rows` (flat indices into [batch, heads,
/// qLen]), only those rows are computed; the others stay o = 0, lse = -inf.
void forward(const mask::Pattern &pattern, const Problem &problem, const std::vector<float> &q,
             const std::vector<float> &k, const std::vector<float> &v, std::vector<float> &o,
             std::vector<float> &lse, const std::vector<int64_t> *rows = nullptr);

} // namespace sieve::reference

#endif // SIEVE_REFERENCE_SIEVECPUATTENTION_H
