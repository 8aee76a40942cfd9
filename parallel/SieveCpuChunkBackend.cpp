//===- SieveCpuChunkBackend.cpp - Per-chunk attention on the CPU ----------===//

#include "parallel/SieveChunkBackend.h"
#include "reference/SieveCpuChunks.h"

#include <cstdlib>
#include <cstring>
#include <vector>

using namespace sieve;
using namespace sieve::parallel;
using reference::View;

namespace {
template <class T> View<T> view(const Rows &r, int heads, int64_t cols) {
  return View<T>::dense(static_cast<T *>(r.base), heads, r.perHead, cols).from(r.first);
}

reference::Chunk chunkOf(const AttentionShape &s, int64_t qPos, int64_t qLen, int64_t kPos,
                         int64_t kLen) {
  reference::Chunk c;
  c.batch = s.batch, c.heads = s.heads, c.kvHeads = s.kvHeads, c.headDim = s.headDim;
  c.scale = s.scale;
  c.qPos = qPos, c.qLen = qLen, c.kPos = kPos, c.kLen = kLen;
  return c;
}
} // namespace

Status CpuChunkBackend::allocate(size_t bytes, void **ptr) {
  *ptr = std::calloc(bytes ? bytes : 1, 1);
  return *ptr ? Status::success()
              : Status::error("cannot allocate " + std::to_string(bytes) + " bytes");
}

void CpuChunkBackend::release(void *ptr) { std::free(ptr); }

Status CpuChunkBackend::upload(void *dst, const void *src, size_t bytes) {
  std::memcpy(dst, src, bytes);
  return Status::success();
}

Status CpuChunkBackend::download(void *dst, const void *src, size_t bytes) {
  std::memcpy(dst, src, bytes);
  return Status::success();
}

Status CpuChunkBackend::copy2d(void *dst, size_t dstPitch, const void *src, size_t srcPitch,
                               size_t width, size_t count) {
  for (size_t i = 0; i < count; ++i)
    std::memcpy(static_cast<char *>(dst) + i * dstPitch,
                static_cast<const char *>(src) + i * srcPitch, width);
  return Status::success();
}

Status CpuChunkBackend::add2d(float *dst, size_t dstPitch, const float *src, size_t srcPitch,
                              size_t width, size_t count) {
  for (size_t i = 0; i < count; ++i)
    for (size_t e = 0; e < width; ++e)
      dst[i * dstPitch + e] += src[i * srcPitch + e];
  return Status::success();
}

Status CpuChunkBackend::fromFloat(void *dst, const float *src, size_t n) {
  if (dst != src)
    std::memmove(dst, src, n * sizeof(float));
  return Status::success();
}

Status CpuChunkBackend::forward(const AttentionShape &s, const ForwardChunk &c) {
  ++chunkCount;
  const reference::Chunk chunk = chunkOf(s, c.qPos, c.qLen, c.kPos, c.kLen);
  View<float> o = view<float>(c.o, s.heads, s.headDim), lse = view<float>(c.lse, s.heads, 1);
  View<const float> q = view<float>(c.q, s.heads, s.headDim);
  View<const float> k = view<float>(c.k, s.kvHeads, s.headDim);
  View<const float> v = view<float>(c.v, s.kvHeads, s.headDim);
  if (!c.accumulate) {
    reference::chunkForward<float>(pattern, chunk, q, k, v, o, lse);
    return Status::success();
  }
  // The chunk's own result, then the merge into what o and lse hold.
  const size_t rows = size_t(s.batch) * s.heads * size_t(c.qLen);
  std::vector<float> po(rows * size_t(s.headDim)), plse(rows);
  View<float> partO = View<float>::dense(po.data(), s.heads, c.qLen, s.headDim);
  View<float> partLse = View<float>::dense(plse.data(), s.heads, c.qLen, 1);
  reference::chunkForward<float>(pattern, chunk, q, k, v, partO, partLse);
  reference::mergeByLse<float>(chunk, {o, partO}, {lse, partLse}, o, lse);
  return Status::success();
}

Status CpuChunkBackend::softmaxGradDot(const AttentionShape &s, const void *o, const void *dO,
                                       int64_t rows, float *d) {
  reference::Chunk chunk = chunkOf(s, 0, rows, 0, 0);
  auto in = [&](const void *p) {
    return View<const float>::dense(static_cast<const float *>(p), s.heads, rows, s.headDim);
  };
  reference::softmaxGradDot<float>(chunk, in(o), in(dO), View<float>::dense(d, s.heads, rows, 1));
  return Status::success();
}

Status CpuChunkBackend::backward(const AttentionShape &s, const BackwardChunk &c) {
  ++chunkCount;
  reference::chunkBackward<float>(
      pattern, chunkOf(s, c.qPos, c.qLen, c.kPos, c.kLen), view<float>(c.q, s.heads, s.headDim),
      view<float>(c.k, s.kvHeads, s.headDim), view<float>(c.v, s.kvHeads, s.headDim),
      view<float>(c.dO, s.heads, s.headDim), view<float>(c.lse, s.heads, 1),
      view<float>(c.d, s.heads, 1), view<float>(c.dq, s.heads, s.headDim),
      view<float>(c.dk, s.kvHeads, s.headDim), view<float>(c.dv, s.kvHeads, s.headDim));
  return Status::success();
}
