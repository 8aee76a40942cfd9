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

/// What a compiled forward kernel was built for, read from the module's
/// launch information (sieve/sieve_kernel_abi.h).
struct KernelInfo {
  int headDim = 128;
  ElementType dtype = ElementType::BF16;
  int tileQ = 128, tileK = 64;
  int threads = 128;
  int sharedBytes = 0;
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

/// A forward kernel. It launches in the context current on the calling
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

SIEVE_API_END

} // namespace sieve

#endif // SIEVE_RUNTIME_ATTENTION_H
