//===- Attention.h - Loading and launching attention kernels ----*- C++ -*-===//
//
// Part of sieve's public runtime API (no MLIR or LLVM types). The CUDA
// driver is loaded with dlopen, so a program that uses this starts on a
// machine without a GPU and gets an error, not a crash, when it tries to
// launch. Every launch argument is validated before anything touches memory.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_ATTENTION_H
#define SIEVE_RUNTIME_ATTENTION_H

#include "sieve/Jit.h"
#include "sieve/sieve_export.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sieve {

SIEVE_API_BEGIN

enum class ElementType { BF16, FP16 };
/// "bf16" or "fp16".
const char *elementTypeName(ElementType type);
/// The element type spelled `name` ("bf16", "fp16"); false if none is.
bool parseElementType(const std::string &name, ElementType &type);

/// What a module computes: forward (prefill), decode (split-KV, varlen) or
/// backward (dq, dk, dv).
enum class KernelOperation { Forward, Decode, Backward };

/// What a compiled kernel was built for, read from the module's launch
/// information (sieve/sieve_kernel_abi.h).
struct KernelInfo {
  KernelOperation operation = KernelOperation::Forward;
  bool pagedKv = false; ///< Decode: reads K and V through a block table.
  int headDim = 128;
  ElementType dtype = ElementType::BF16;
  int tileQ = 128, tileK = 64;
  int threads = 128;
  int sharedBytes = 0;
  int combineThreads = 0; ///< Decode: the combine kernel's block size.
  int auxSharedBytes = 0; ///< Backward: the deterministic dq pass's shared memory.
  int auxThreads = 0;     ///< Backward: the pre, post and dq entries' block size.
  /// Backward: the main entry can spread a KV group's query heads over
  /// several CTAs per key tile (BackwardArgs::headSplit).
  bool splitsHeads = false;
  /// Forward: TMA tensor maps (q, k, v) the runtime encodes for each launch
  /// (0: none). Such a kernel needs strides that are multiples of 8 elements.
  int tensorMaps = 0;
};

/// One forward-attention launch. Tensors are [batch, heads, length,
/// head_dim] with the last dimension contiguous; strides are in elements.
/// Queries are aligned to the end of the keys (query i is at position
/// kLen - qLen + i).
struct AttentionArgs {
  const void *q = nullptr, *k = nullptr, *v = nullptr;
  void *o = nullptr;
  float *lse = nullptr; ///< [batch, heads, qLen] float32, or null.
  int batch = 1, heads = 1, kvHeads = 1, qLen = 0, kLen = 0, headDim = 128;
  ElementType dtype = ElementType::BF16;
  int64_t qStride[3] = {}, kStride[3] = {}, vStride[3] = {}, oStride[3] = {};
  float scale = 0; ///< Softmax scale; 0 means 1 / sqrt(headDim).

  /// Fills the strides of contiguous tensors.
  void setContiguousStrides();
};

/// Checks `args` against the kernel: non-null tensors, 16-byte alignment,
/// positive sizes, qLen <= kLen, heads a multiple of kvHeads, the kernel's
/// head dim and element type, strides that keep rows, heads and batches
/// apart, and grid limits. Returns a message naming the first problem.
Status validateLaunch(const AttentionArgs &args, const KernelInfo &kernel);

/// One decode launch (sieve_kernel_abi.h, sieve_decode_params, has the
/// exact addressing): few queries per sequence (any count works; the kernel
/// is built for 1-64), variable-length batches, dense or paged KV, split-KV.
/// All arrays live on the device; a launch reads none of them on the host,
/// allocates nothing and never synchronises, so it can be captured in a CUDA
/// graph (with a fixed `splits` and workspace).
struct DecodeArgs {
  const void *q = nullptr, *k = nullptr, *v = nullptr;
  void *o = nullptr;
  float *lse = nullptr; ///< [totalQ, heads] float32, or null.
  /// [batch + 1] int32 prefix sums of query counts; null: qLen each.
  const int32_t *cuSeqlensQ = nullptr;
  /// Dense KV: [batch + 1] prefix sums of packed key counts; null: batched.
  const int32_t *cuSeqlensK = nullptr;
  /// [batch] key counts (paged KV, or batched dense KV); null: kLen each.
  const int32_t *seqlensK = nullptr;
  /// Paged KV: [batch, maxPages] int32 page indices.
  const int32_t *blockTable = nullptr;
  int batch = 1, heads = 1, kvHeads = 1;
  int qLen = 1, kLen = 0; ///< Maxima over the batch.
  int headDim = 128;
  ElementType dtype = ElementType::BF16;
  /// Rows of packed q and o (with cuSeqlensQ) and of packed K and V (with
  /// cuSeqlensK): the extents the strides are checked against.
  int64_t totalQ = 0, totalK = 0;
  int pageSize = 0, maxPages = 0, numPages = 0; ///< Paged KV.
  /// The most splits of a row tile's keys: 0 chooses from the device's SM
  /// count; 1 writes o directly (no workspace, no combine).
  int splits = 0;
  /// Caller-provided scratch for splits > 1: decodeWorkspace says how big.
  void *workspace = nullptr;
  size_t workspaceBytes = 0;
  /// For splits > 1, the fused combine's tickets: the last split CTA of
  /// each row tile merges the splits and no second kernel runs. At least
  /// decodeTicketCount(args, kernel) 32-bit counters that are zero before
  /// the first launch that uses them (allocate and zero them once); every
  /// launch leaves them zero. One launch at a time per array, like the
  /// workspace: counters left non-zero (an array not zeroed, shared by two
  /// streams at once, or a launch that was aborted) give wrong results
  /// until they are zeroed again. Null: the combine kernel.
  uint32_t *tickets = nullptr;
  int64_t ticketCount = 0;
  /// How splits are merged: Auto fuses the combine when tickets are given
  /// and a row tile holds at most one row per warp of the decode CTA (with
  /// 64-key tiles, 4 warps: one query of a GQA group up to 4; measured
  /// faster there on an H200, slower with 16 queries; docs/performance.md);
  /// Kernel always launches the combine kernel; Fused always fuses it
  /// (tickets required when there is more than one split).
  enum class Combine { Auto, Kernel, Fused } combine = Combine::Auto;
  /// Element strides (batch, head, row) of q and o, and of dense K and V;
  /// paged K and V: (page, head, slot). With cuSeqlens* the batch stride is
  /// unused (rows are packed).
  int64_t qStride[3] = {}, kStride[3] = {}, vStride[3] = {}, oStride[3] = {};
  float scale = 0; ///< 0 means 1 / sqrt(headDim).

  /// Strides of contiguous [batch or total, length, heads, head_dim] q/o
  /// and K/V (paged: [numPages, pageSize, kvHeads, headDim]).
  void setContiguousStrides();
};

/// The largest split count a decode launch takes.
constexpr int kMaxDecodeSplits = 64;
/// The largest split count chooseDecodeSplits picks: past 16 a split's
/// count and placement and the merge cost more than its fewer tiles save
/// (H200, fused combine: 128K 32/8 one query 18.8 us with 16 splits, 20.9
/// with one wave's 33; 32K 17.9 against 19.2; docs/performance.md).
constexpr int kMaxAutoDecodeSplits = 16;

/// Checks a decode launch against the kernel (a decode module): pointers,
/// alignment, lengths, strides against the extents, page size (16-256, a
/// multiple of 16) and block table shape, splits and workspace, grid limits.
/// `splits` is the resolved split count (>= 1).
Status validateDecode(const DecodeArgs &args, const KernelInfo &kernel, int splits);

/// The split count for `args` on a device with `multiprocessors` SMs, each
/// holding `blocksPerSm` blocks of the decode kernel (the driver's occupancy
/// at load; two on an H200): the most whose CTAs fit the device at once (one
/// wave; at least 1), at most kMaxAutoDecodeSplits and at most one per two key
/// tiles (the kernel also stops at its walk's tile count).
int chooseDecodeSplits(const DecodeArgs &args, const KernelInfo &kernel, int multiprocessors,
                       int blocksPerSm = 2);

/// Workspace bytes a decode launch with `splits` splits needs (0 for 1).
size_t decodeWorkspaceBytes(const DecodeArgs &args, int splits);

/// Tickets the fused combine of a launch of `args` needs: one per row tile
/// of each sequence and KV head (batch x kvHeads x row tiles).
int64_t decodeTicketCount(const DecodeArgs &args, const KernelInfo &kernel);

/// Whether a launch of `args` with `splits` splits fuses its combine (see
/// DecodeArgs::combine).
bool decodeFusesCombine(const DecodeArgs &args, const KernelInfo &kernel, int splits);

/// One backward launch: dq, dk and dv of forward attention, from the
/// forward's o and lse (natural log, [batch, heads, qLen] float32) and the
/// output gradient dO. Tensors are [batch, heads, length, headDim] like
/// AttentionArgs' (q, o, dO, dq with `heads` heads; k, v, dk, dv with
/// kvHeads; dk and dv of a KV head sum its query heads), last dimension
/// contiguous, strides in elements. A launch allocates nothing and never
/// synchronises: the caller gives a workspace of backwardWorkspaceBytes.
struct BackwardArgs {
  const void *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr, *dO = nullptr;
  const float *lse = nullptr;
  void *dq = nullptr, *dk = nullptr, *dv = nullptr;
  int batch = 1, heads = 1, kvHeads = 1, qLen = 0, kLen = 0, headDim = 128;
  ElementType dtype = ElementType::BF16;
  int64_t qStride[3] = {}, kStride[3] = {}, vStride[3] = {}, oStride[3] = {};
  int64_t dOStride[3] = {}, dqStride[3] = {}, dkStride[3] = {}, dvStride[3] = {};
  float scale = 0; ///< 0 means 1 / sqrt(headDim).
  /// No atomics: dq from its own pass along the forward walk, so the result
  /// is the same bit for bit on every run (and the workspace smaller).
  bool deterministic = false;
  /// How many CTAs share a key tile's query heads of one KV group (GQA): 0
  /// is sieve's choice (backwardHeadSplit), 1 one CTA per key tile walks the
  /// whole group. Above 1 (it must divide heads / kvHeads, on a kernel with
  /// KernelInfo::splitsHeads, not deterministic) the CTAs add fp32 dK and
  /// dV into the workspace: more CTAs where few KV heads would leave the
  /// long columns (a sink) to a few SMs.
  int headSplit = 0;
  void *workspace = nullptr; ///< 16-byte aligned, backwardWorkspaceBytes.
  size_t workspaceBytes = 0;

  /// Fills the strides of contiguous tensors.
  void setContiguousStrides();
};

/// Workspace bytes a backward launch needs on `kernel` (a backward module):
/// fp32 lse and D per query row and, unless deterministic, fp32 dq; with a
/// head split, fp32 dK and dV.
size_t backwardWorkspaceBytes(const BackwardArgs &args, const KernelInfo &kernel);

/// The head split a launch of `args` gets on `kernel`: args.headSplit when
/// set, else 1 where it cannot split (deterministic, a kernel without
/// KernelInfo::splitsHeads, MHA, qLen under kLen / 2), else the smallest
/// split dividing the group that leaves each CTA at most ceil(group / 16)
/// query heads (32/8 gets 4, 32/1 16). With a split, dK and dV are fp32
/// sums in an order that varies from run to run, like dQ's.
int backwardHeadSplit(const BackwardArgs &args, const KernelInfo &kernel);

/// Checks a backward launch against the kernel like validateLaunch, plus
/// dO, lse, the three gradients (written: no overlap with each other or any
/// input) and the workspace.
Status validateBackward(const BackwardArgs &args, const KernelInfo &kernel);

/// A GPU.
struct DeviceInfo {
  std::string name;
  int ordinal = 0;
  int major = 0, minor = 0; ///< Compute capability.
  int multiprocessors = 0;
};

/// Loads the driver and describes device `ordinal` (error: no driver or GPU).
Status queryDevice(int ordinal, DeviceInfo &info);
/// The device of the calling thread's current context (device 0's primary
/// context is made current when the thread has none).
Status currentDevice(DeviceInfo &info);

/// A compiled kernel (forward, decode or backward). It launches in the context current on the calling
/// thread (so on the caller's device), loading its module into each context
/// on first use there; with no current context, device 0's primary context
/// is made current.
class AttentionKernel {
public:
  AttentionKernel();
  ~AttentionKernel();
  AttentionKernel(AttentionKernel &&) noexcept;
  AttentionKernel &operator=(AttentionKernel &&) noexcept;

  /// Loads a cubin made by `sieve compile --emit cubin` (or the API) into the
  /// current context and reads its launch information; rejects a cubin of
  /// another kernel ABI version.
  static Status load(const std::vector<char> &cubin, AttentionKernel &out);

  const KernelInfo &info() const;
  /// Validates, then launches on `stream` (a CUstream; null = default).
  Status launch(const AttentionArgs &args, void *stream = nullptr) const;

  /// Decode: the split count a launch of `args` uses in the current context
  /// (args.splits, or the choice for this device's SM count) and the
  /// workspace bytes it needs.
  Status decodeWorkspace(const DecodeArgs &args, int &splits, size_t &bytes) const;
  /// Validates, then launches the decode kernel and, with splits > 1, the
  /// combine, both on `stream`.
  Status launchDecode(const DecodeArgs &args, void *stream = nullptr) const;

  /// Validates, then launches the backward's kernels on `stream` (a backward
  /// module: `sieve compile --kernel bwd-sm80-mma`).
  Status launchBackward(const BackwardArgs &args, void *stream = nullptr) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

/// Device memory and synchronisation through the same dlopen'd driver, for
/// tools and tests that have no CUDA runtime of their own. Like the rest of
/// sieve's runtime they work in the calling thread's current context (device
/// 0's primary context when there is none).
Status deviceAlloc(size_t bytes, void **ptr);
Status deviceFree(void *ptr);
Status copyToDevice(void *dst, const void *src, size_t bytes);
Status copyToHost(void *dst, const void *src, size_t bytes);
Status deviceSynchronize();
/// Times `fn` (which launches work) with driver events: milliseconds.
Status timeOnDevice(const std::function<Status()> &fn, float &ms);
/// The same with the events on `stream` (a CUstream; null: the default).
Status timeOnStream(void *stream, const std::function<Status()> &fn, float &ms);
/// Times `n` calls of `fn` on `stream` the way triton.testing.do_bench does,
/// so short kernels are timed as the GPU runs them: before each call the
/// stream writes a `flushBytes` buffer (evicting L2; 0: no flush), during
/// which the host queues the call, so the host's launch latency is not
/// counted; events bracket each call, and the host waits once, at the end.
/// `ms` gets each call's milliseconds.
Status timeCallsOnStream(void *stream, const std::function<Status()> &fn, int n,
                         size_t flushBytes, std::vector<float> &ms);

/// A CUDA graph of launches, captured on a stream of its own, for tools and
/// tests that have no CUDA runtime (an application with one captures
/// sieve's launches on its own stream: docs/decode.md). sieve's launches
/// allocate nothing and never synchronise, so a decode step or a backward
/// captures as is.
class DeviceGraph {
public:
  DeviceGraph();
  ~DeviceGraph();
  DeviceGraph(DeviceGraph &&) noexcept;
  DeviceGraph &operator=(DeviceGraph &&) noexcept;
  /// Captures what `fn` launches on the stream it is given, and instantiates
  /// the graph. An error of fn (or of the capture) is returned.
  static Status capture(const std::function<Status(void *stream)> &fn, DeviceGraph &out);
  /// Launches the graph on its stream; with `ms`, times it there.
  Status launch(float *ms = nullptr) const;
  /// The stream it was captured on and launches on.
  void *stream() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

SIEVE_API_END

} // namespace sieve

#endif // SIEVE_RUNTIME_ATTENTION_H
