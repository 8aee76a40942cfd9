//===- SieveLaunchChecks.h - Launch checks shared by the runtime -*- C++ -*-===//
//
// Internal to the runtime: the tensor checks every launch's validation uses
// and the decode layout shared by its validation and its launch.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SIEVELAUNCHCHECKS_H
#define SIEVE_RUNTIME_SIEVELAUNCHCHECKS_H

#include "sieve/Attention.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace sieve::detail {

/// The addresses [begin, end) a tensor's elements lie in.
struct ByteRange {
  uintptr_t begin = 0, end = 0;
  bool overlaps(const ByteRange &o) const { return begin < o.end && o.begin < end; }
};

/// Tensors of [batch, heads, rows, headDim] with strides `s` may be read;
/// `write` also requires that no two elements share memory. `range` gets the
/// bytes the tensor spans, computed without overflow.
Status checkTensor(const char *name, const void *ptr, const int64_t s[3], int64_t batch,
                   int64_t heads, int64_t rows, int64_t headDim, bool write, ByteRange &range);

/// A decode launch's row tiles per sequence and KV head: its packed rows
/// (queries x the GQA group) over the kernel's tile.
inline int64_t decodeRowTiles(const DecodeArgs &a, const KernelInfo &k) {
  const int64_t rows = int64_t(a.qLen) * (a.heads / std::max(a.kvHeads, 1));
  return (rows + k.tileQ - 1) / std::max(k.tileQ, 1);
}

/// Where the partial results live in a decode workspace: partial O, then
/// LSE (256-byte aligned).
struct DecodeWorkspaceLayout {
  size_t oBytes = 0, lseOffset = 0, bytes = 0;
  DecodeWorkspaceLayout(const DecodeArgs &a, int splits) {
    if (splits <= 1)
      return;
    const size_t cells = size_t(splits) * size_t(a.batch) * size_t(a.qLen) * size_t(a.heads);
    oBytes = cells * size_t(a.headDim) * 4;
    lseOffset = (oBytes + 255) / 256 * 256;
    bytes = lseOffset + cells * 4;
  }
};

} // namespace sieve::detail

#endif // SIEVE_RUNTIME_SIEVELAUNCHCHECKS_H
