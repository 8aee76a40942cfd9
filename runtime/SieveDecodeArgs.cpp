//===- SieveDecodeArgs.cpp - Checking and sizing decode launches ---------===//
//
// The host side of a decode launch that needs no driver: contiguous
// strides, the split count for a device, the workspace and ticket sizes,
// whether a launch fuses its combine, and validateDecode. The launch
// itself is AttentionKernel::launchDecode (SieveAttention.cpp).
//
//===----------------------------------------------------------------------===//

#include "SieveLaunchChecks.h"
#include "sieve/Attention.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <string>

using namespace sieve;
using sieve::detail::ByteRange;
using sieve::detail::checkTensor;
using sieve::detail::DecodeWorkspaceLayout;
using sieve::detail::decodeRowTiles;

void DecodeArgs::setContiguousStrides() {
  // q, o: [batch or total, qLen, heads, d]; K, V: [batch, kLen, kvHeads, d]
  // or, paged, [numPages, pageSize, kvHeads, d].
  auto fill = [&](int64_t *s, int64_t heads, int64_t rows) {
    s[2] = heads * headDim, s[1] = headDim, s[0] = rows * heads * headDim;
  };
  fill(qStride, heads, qLen);
  fill(oStride, heads, qLen);
  const int64_t kvRows = blockTable ? pageSize : kLen;
  fill(kStride, kvHeads, kvRows);
  fill(vStride, kvHeads, kvRows);
}

namespace {
Status checkArray(const char *name, const int32_t *ptr) {
  if (ptr && reinterpret_cast<uintptr_t>(ptr) % 4 != 0)
    return Status::error(std::string(name) + " is not 4-byte aligned");
  return Status::success();
}
} // namespace

size_t sieve::decodeWorkspaceBytes(const DecodeArgs &args, int splits) {
  return DecodeWorkspaceLayout(args, splits).bytes;
}

int64_t sieve::decodeTicketCount(const DecodeArgs &args, const KernelInfo &kernel) {
  return int64_t(std::max(args.batch, 0)) * std::max(args.kvHeads, 0) * decodeRowTiles(args, kernel);
}

bool sieve::decodeFusesCombine(const DecodeArgs &a, const KernelInfo &k, int splits) {
  if (splits <= 1 || !a.tickets || a.combine == DecodeArgs::Combine::Kernel)
    return false;
  if (a.combine == DecodeArgs::Combine::Fused)
    return true;
  // The last CTA merges its tile's rows a warp per row: with more rows than
  // warps that tail was slower than the combine kernel's warp per cell
  // (H200, 128K: 16 queries of 32/8 28.3 against 27.2 us; one query 21.2
  // against 21.7, and 29.9 against 32.6 at 32/32).
  const int64_t rows = std::min<int64_t>(k.tileQ, int64_t(a.qLen) * (a.heads / std::max(a.kvHeads, 1)));
  return rows <= std::max(k.threads / 32, 1);
}

int sieve::chooseDecodeSplits(const DecodeArgs &a, const KernelInfo &k, int multiprocessors,
                              int blocksPerSm) {
  const int64_t ctas = int64_t(std::max(a.batch, 1)) * std::max(a.kvHeads, 1) * decodeRowTiles(a, k);
  const int64_t keyTiles = (int64_t(a.kLen) + k.tileK - 1) / std::max(k.tileK, 1);
  // One wave: the largest split count whose CTAs all fit the device at
  // once. Rounding up instead (one wave and a little) cost an H200 ~10 us
  // per step: 32 KV heads x 9 splits = 288 CTAs for 264 places took 41.6
  // us, 8 splits 32.3 us (docs/performance.md, 2026-12-02, fifth session).
  const int64_t places = int64_t(std::max(blocksPerSm, 1)) * std::max(multiprocessors, 1);
  int64_t splits = places / std::max<int64_t>(ctas, 1);
  splits = std::min<int64_t>({splits, kMaxAutoDecodeSplits, std::max<int64_t>(1, keyTiles / 2)});
  return int(std::max<int64_t>(splits, 1));
}

Status sieve::validateDecode(const DecodeArgs &a, const KernelInfo &kernel, int splits) {
  auto atLeast = [](int64_t v, int64_t lo, const char *what) {
    return v >= lo ? Status::success()
                   : Status::error(std::string(what) + " must be at least " + std::to_string(lo) +
                                   " but is " + std::to_string(v));
  };
  for (Status s : {atLeast(a.batch, 1, "batch"), atLeast(a.heads, 1, "heads"),
                   atLeast(a.kvHeads, 1, "kv heads"), atLeast(a.qLen, 1, "query length"),
                   atLeast(a.kLen, 1, "key length")})
    if (!s)
      return s;
  if (kernel.operation != KernelOperation::Decode)
    return Status::error("this is a forward kernel: decode needs a decode kernel "
                         "(--kernel decode-sm80-mma or decode-sm80-mma-paged)");
  if (a.qLen > a.kLen)
    return Status::error("query length " + std::to_string(a.qLen) + " exceeds key length " +
                         std::to_string(a.kLen) + " (queries are aligned to the end of the keys)");
  if (a.heads % a.kvHeads != 0)
    return Status::error("heads (" + std::to_string(a.heads) + ") must be a multiple of kv heads (" +
                         std::to_string(a.kvHeads) + ")");
  if (a.headDim != kernel.headDim)
    return Status::error("the kernel was compiled for head dim " + std::to_string(kernel.headDim) +
                         " but the launch has " + std::to_string(a.headDim));
  if (a.dtype != kernel.dtype)
    return Status::error(std::string("the kernel was compiled for ") + elementTypeName(kernel.dtype) +
                         " but the launch has " + elementTypeName(a.dtype));
  if (a.kvHeads > 65535 || a.batch > 65535)
    return Status::error("kv heads and batch must be at most 65535 (grid limits)");
  if (splits < 1 || splits > kMaxDecodeSplits)
    return Status::error("splits must be 1 to " + std::to_string(kMaxDecodeSplits) + " (0 = auto) but is " +
                         std::to_string(splits));
  if (int64_t(splits) * decodeRowTiles(a, kernel) > INT32_MAX)
    return Status::error("splits x query tiles exceeds the grid limit");
  if (!std::isfinite(a.scale) || a.scale < 0)
    return Status::error("the softmax scale must be finite and non-negative (0 = default)");
  if (a.lse && reinterpret_cast<uintptr_t>(a.lse) % 4 != 0)
    return Status::error("lse is not 4-byte aligned");
  for (Status s : {checkArray("cu_seqlens_q", a.cuSeqlensQ), checkArray("cu_seqlens_k", a.cuSeqlensK),
                   checkArray("seqlens_k", a.seqlensK), checkArray("block_table", a.blockTable)})
    if (!s)
      return s;

  // Extents: packed rows (varlen) or batch x length.
  const bool packedQ = a.cuSeqlensQ != nullptr;
  if (packedQ && a.totalQ < 1)
    return Status::error("with cu_seqlens_q, totalQ (rows of packed q and o) must be at least 1");
  const int64_t qBatch = packedQ ? 1 : a.batch, qRows = packedQ ? a.totalQ : a.qLen;
  int64_t kBatch = a.batch, kHeads = a.kvHeads, kRows = a.kLen;
  if (kernel.pagedKv) {
    if (!a.blockTable)
      return Status::error("a paged kernel needs a block table");
    if (a.cuSeqlensK)
      return Status::error("paged KV takes seqlens_k, not cu_seqlens_k");
    if (a.pageSize < 16 || a.pageSize > 256 || a.pageSize % 16 != 0)
      return Status::error("page size must be 16 to 256, a multiple of 16, but is " +
                           std::to_string(a.pageSize));
    const int64_t need = (int64_t(a.kLen) + a.pageSize - 1) / a.pageSize;
    if (a.maxPages < need)
      return Status::error("the block table has " + std::to_string(a.maxPages) +
                           " pages per sequence; key length " + std::to_string(a.kLen) +
                           " needs " + std::to_string(need) + " of " + std::to_string(a.pageSize));
    if (a.numPages < 1)
      return Status::error("numPages (pages in the K and V caches) must be at least 1");
    kBatch = a.numPages, kRows = a.pageSize;
  } else {
    if (a.blockTable)
      return Status::error("a block table needs a paged kernel (decode-sm80-mma-paged)");
    if (a.cuSeqlensK) {
      if (a.totalK < 1)
        return Status::error("with cu_seqlens_k, totalK (rows of packed K and V) must be at least 1");
      kBatch = 1, kRows = a.totalK;
    }
  }
  ByteRange q, k, v, o;
  if (Status s = checkTensor("q", a.q, a.qStride, qBatch, a.heads, qRows, a.headDim, false, q); !s)
    return s;
  if (Status s = checkTensor("k", a.k, a.kStride, kBatch, kHeads, kRows, a.headDim, false, k); !s)
    return s;
  if (Status s = checkTensor("v", a.v, a.vStride, kBatch, kHeads, kRows, a.headDim, false, v); !s)
    return s;
  if (Status s = checkTensor("o", a.o, a.oStride, qBatch, a.heads, qRows, a.headDim, true, o); !s)
    return s;
  for (auto [name, range] : {std::pair{"q", q}, {"k", k}, {"v", v}})
    if (o.overlaps(range))
      return Status::error(std::string("o shares memory with ") + name);
  const DecodeWorkspaceLayout ws(a, splits);
  if (splits > 1) {
    if (!a.workspace)
      return Status::error("splits = " + std::to_string(splits) + " needs a workspace of " +
                           std::to_string(ws.bytes) + " bytes (decodeWorkspace says how many)");
    if (reinterpret_cast<uintptr_t>(a.workspace) % 16 != 0)
      return Status::error("the workspace is not 16-byte aligned");
    if (a.workspaceBytes < ws.bytes)
      return Status::error("the workspace has " + std::to_string(a.workspaceBytes) +
                           " bytes; splits = " + std::to_string(splits) + " need " +
                           std::to_string(ws.bytes));
    if (a.combine == DecodeArgs::Combine::Fused && !a.tickets)
      return Status::error("the fused combine needs tickets (decodeTicketCount counters, zeroed "
                           "once)");
    if (decodeFusesCombine(a, kernel, splits)) { // tickets unused otherwise
      if (reinterpret_cast<uintptr_t>(a.tickets) % 4 != 0)
        return Status::error("tickets is not 4-byte aligned");
      const int64_t need = decodeTicketCount(a, kernel);
      if (a.ticketCount < need)
        return Status::error("tickets has " + std::to_string(a.ticketCount) + " counters; " +
                             "the fused combine needs " + std::to_string(need) +
                             " (decodeTicketCount: batch x kv heads x row tiles)");
      const ByteRange t{reinterpret_cast<uintptr_t>(a.tickets),
                        reinterpret_cast<uintptr_t>(a.tickets) + size_t(need) * 4};
      const ByteRange w{reinterpret_cast<uintptr_t>(a.workspace),
                        reinterpret_cast<uintptr_t>(a.workspace) + ws.bytes};
      // The lse rows the launch writes ([totalQ or batch x qLen, heads]).
      const size_t lseRows = size_t(packedQ ? a.totalQ : int64_t(a.batch) * a.qLen);
      const ByteRange l{reinterpret_cast<uintptr_t>(a.lse),
                        reinterpret_cast<uintptr_t>(a.lse) + (a.lse ? lseRows * a.heads * 4 : 0)};
      for (auto [name, range] :
           {std::pair{"the workspace", w}, {"o", o}, {"lse", l}, {"q", q}, {"k", k}, {"v", v}})
        if (t.overlaps(range))
          return Status::error(std::string("tickets shares memory with ") + name);
    }
  }
  return Status::success();
}
