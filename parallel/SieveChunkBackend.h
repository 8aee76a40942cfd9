//===- SieveChunkBackend.h - Per-chunk attention on a rank's device -*- C++ -*-===//
//
// The schedule executor (SieveContextParallel.h) decides which query rows
// meet which key rows and moves the bytes; a backend does the arithmetic and
// owns the memory, on whatever device the rank computes on. The CPU backend
// (CpuChunkBackend, below) runs the reference chunks of
// reference/SieveCpuChunks.h and is what tests and CPU runs use. A GPU
// backend is the same interface over sieve's kernels; it needs forward and
// backward kernels that take the global positions of their first query and
// first key (docs/context-parallel.md), which do not exist yet.
//
// Every buffer is a contiguous [batch, heads, rowsPerHead, cols] tensor on
// the backend's device: q, k, v, o, dO in the backend's element type;
// partial o, lse, D and all gradients in float32. Query tensors have `heads`
// heads, key and value tensors `kvHeads`.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PARALLEL_SIEVECHUNKBACKEND_H
#define SIEVE_PARALLEL_SIEVECHUNKBACKEND_H

#include "dialect/SieveMask.h"
#include "sieve/Jit.h"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace sieve::parallel {

/// The attention every rank computes a part of.
struct AttentionShape {
  int batch = 1, heads = 1, kvHeads = 1, headDim = 0;
  double scale = 0; ///< 0: 1 / sqrt(headDim).
};

/// Rows [first, ...) of a buffer with `perHead` rows per (batch, head).
struct Rows {
  void *base = nullptr;
  int64_t perHead = 0, first = 0;
};

/// Queries at global positions [qPos, qPos + qLen) against keys at
/// [kPos, kPos + kLen), attended under the backend's pattern.
struct ForwardChunk {
  int64_t qPos = 0, qLen = 0, kPos = 0, kLen = 0;
  Rows q, k, v;
  Rows o, lse; ///< float32
  /// Merge the chunk's result into o and lse by LSE; false: overwrite them.
  bool accumulate = false;
};

struct BackwardChunk {
  int64_t qPos = 0, qLen = 0, kPos = 0, kLen = 0;
  Rows q, k, v, dO;
  Rows lse, d;    ///< float32: the whole rows' LSE and rowsum(dO * O)
  Rows dq, dk, dv; ///< float32, added to
};

class ChunkBackend {
public:
  virtual ~ChunkBackend() = default;

  /// Bytes of one element of q, k, v, o and dO.
  virtual size_t elementBytes() const = 0;

  /// Zero-filled device memory; release(nullptr) does nothing.
  virtual Status allocate(size_t bytes, void **ptr) = 0;
  virtual void release(void *ptr) = 0;
  /// Bytes from host memory to device memory, and back.
  virtual Status upload(void *dst, const void *src, size_t bytes) = 0;
  virtual Status download(void *dst, const void *src, size_t bytes) = 0;
  /// `count` lines of `width` bytes, line i from src + i * srcPitch to
  /// dst + i * dstPitch.
  virtual Status copy2d(void *dst, size_t dstPitch, const void *src, size_t srcPitch,
                        size_t width, size_t count) = 0;
  /// The same in float32, adding; pitches and width in floats.
  virtual Status add2d(float *dst, size_t dstPitch, const float *src, size_t srcPitch,
                       size_t width, size_t count) = 0;
  /// n floats to the element type.
  virtual Status fromFloat(void *dst, const float *src, size_t n) = 0;

  virtual Status forward(const AttentionShape &shape, const ForwardChunk &chunk) = 0;
  /// d [batch, heads, rows] = rowsum(dO * o) of two [batch, heads, rows,
  /// headDim] tensors.
  virtual Status softmaxGradDot(const AttentionShape &shape, const void *o, const void *dO,
                                int64_t rows, float *d) = 0;
  virtual Status backward(const AttentionShape &shape, const BackwardChunk &chunk) = 0;

  /// Waits for work issued so far; called before a transport touches
  /// buffers this backend wrote (a GPU backend synchronises its stream).
  virtual Status synchronize() { return Status::success(); }
};

/// The CPU executor: float32 tensors in host memory, the reference chunks of
/// reference/SieveCpuChunks.h under `pattern` (which must outlive it).
class CpuChunkBackend : public ChunkBackend {
public:
  explicit CpuChunkBackend(const mask::Pattern &pattern) : pattern(pattern) {}

  size_t elementBytes() const override { return sizeof(float); }
  Status allocate(size_t bytes, void **ptr) override;
  void release(void *ptr) override;
  Status upload(void *dst, const void *src, size_t bytes) override;
  Status download(void *dst, const void *src, size_t bytes) override;
  Status copy2d(void *dst, size_t dstPitch, const void *src, size_t srcPitch, size_t width,
                size_t count) override;
  Status add2d(float *dst, size_t dstPitch, const float *src, size_t srcPitch, size_t width,
               size_t count) override;
  Status fromFloat(void *dst, const float *src, size_t n) override;
  Status forward(const AttentionShape &shape, const ForwardChunk &chunk) override;
  Status softmaxGradDot(const AttentionShape &shape, const void *o, const void *dO,
                        int64_t rows, float *d) override;
  Status backward(const AttentionShape &shape, const BackwardChunk &chunk) override;

  /// Chunks computed (forward and backward), for tests.
  int64_t chunks() const { return chunkCount; }

private:
  const mask::Pattern &pattern;
  std::atomic<int64_t> chunkCount{0};
};

} // namespace sieve::parallel

#endif // SIEVE_PARALLEL_SIEVECHUNKBACKEND_H
