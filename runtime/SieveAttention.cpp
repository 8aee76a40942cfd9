//===- SieveAttention.cpp - Loading and launching kernels -------*- C++ -*-===//

#include "SieveDriver.h"
#include "sieve/Attention.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>

using namespace sieve;
using namespace sieve::driver;

namespace {
/// The kernel's argument struct (SieveFwdCommon.cuh: SieveFwdParams), field
/// for field; passed by value.
struct FwdParams {
  const void *q, *k, *v;
  void *o;
  float *lse;
  int batch, heads, kvHeads, qLen, kLen;
  float scale;
  long long strides[12]; // q, k, v, o: batch, head, row
};

const char *dtypeName(ElementType t) { return t == ElementType::BF16 ? "bf16" : "fp16"; }

/// The addresses [begin, end) a tensor's elements lie in.
struct ByteRange {
  uintptr_t begin = 0, end = 0;
  bool overlaps(const ByteRange &o) const { return begin < o.end && o.begin < end; }
};

/// Tensors of [batch, heads, rows, headDim] with strides `s` may be read;
/// `write` also requires that no two elements share memory. `range` gets the
/// bytes the tensor spans, computed without overflow.
Status checkTensor(const char *name, const void *ptr, const int64_t s[3], int64_t batch,
                   int64_t heads, int64_t rows, int64_t headDim, bool write,
                   ByteRange &range) {
  std::string n = name;
  if (!ptr)
    return Status::error(n + " is null");
  if (reinterpret_cast<uintptr_t>(ptr) % 16 != 0)
    return Status::error(n + " is not 16-byte aligned");
  for (int i = 0; i < 3; ++i)
    if (s[i] < 0 || s[i] % 8 != 0)
      return Status::error(n + " strides must be non-negative multiples of 8 elements "
                               "(16-byte rows) but are [" + std::to_string(s[0]) + ", " +
                           std::to_string(s[1]) + ", " + std::to_string(s[2]) + "]");
  if (s[2] < headDim && rows > 1)
    return Status::error(n + " row stride " + std::to_string(s[2]) +
                         " is smaller than the head dim " + std::to_string(headDim));
  // One past the last element, in bytes (2 per element).
  int64_t last = headDim, step = 0, bytes = 0;
  const int64_t extents[3] = {batch, heads, rows};
  bool overflow = false;
  for (int i = 0; i < 3; ++i)
    overflow |= __builtin_mul_overflow(extents[i] - 1, s[i], &step) ||
                __builtin_add_overflow(last, step, &last);
  uintptr_t begin = reinterpret_cast<uintptr_t>(ptr), end = 0;
  if (overflow || __builtin_mul_overflow(last, int64_t(2), &bytes) ||
      __builtin_add_overflow(begin, uintptr_t(bytes), &end))
    return Status::error(n + " strides [" + std::to_string(s[0]) + ", " +
                         std::to_string(s[1]) + ", " + std::to_string(s[2]) +
                         "] make the tensor extend past the end of the address space");
  range = {begin, end};
  if (!write)
    return Status::success();
  // Dimensions by increasing stride must each step past the previous extent
  // (a product that overflows is past every stride).
  std::pair<int64_t, int64_t> dims[3] = {{s[2], rows}, {s[1], heads}, {s[0], batch}};
  std::sort(std::begin(dims), std::end(dims));
  int64_t span = headDim;
  for (auto [stride, extent] : dims) {
    if (extent <= 1)
      continue;
    if (stride < span)
      return Status::error(n + " strides make elements overlap");
    if (__builtin_mul_overflow(stride, extent, &span))
      span = INT64_MAX;
  }
  return Status::success();
}
} // namespace

void AttentionArgs::setContiguousStrides() {
  auto fill = [&](int64_t *s, int64_t heads, int64_t rows) {
    s[2] = headDim, s[1] = rows * headDim, s[0] = heads * rows * headDim;
  };
  fill(qStride, heads, qLen);
  fill(kStride, kvHeads, kLen);
  fill(vStride, kvHeads, kLen);
  fill(oStride, heads, qLen);
}

Status sieve::validateLaunch(const AttentionArgs &a, const KernelInfo &kernel) {
  auto positive = [](int v, const char *what) {
    return v >= 1 ? Status::success()
                  : Status::error(std::string(what) + " must be at least 1 but is " +
                                  std::to_string(v));
  };
  for (Status s : {positive(a.batch, "batch"), positive(a.heads, "heads"),
                   positive(a.kvHeads, "kv heads"), positive(a.qLen, "query length"),
                   positive(a.kLen, "key length")})
    if (!s)
      return s;
  if (a.qLen > a.kLen)
    return Status::error("query length " + std::to_string(a.qLen) +
                         " exceeds key length " + std::to_string(a.kLen) +
                         " (queries are aligned to the end of the keys)");
  if (a.heads % a.kvHeads != 0)
    return Status::error("heads (" + std::to_string(a.heads) +
                         ") must be a multiple of kv heads (" + std::to_string(a.kvHeads) + ")");
  if (a.headDim != kernel.headDim)
    return Status::error("the kernel was compiled for head dim " +
                         std::to_string(kernel.headDim) + " but the launch has " +
                         std::to_string(a.headDim));
  if (a.dtype != kernel.dtype)
    return Status::error(std::string("the kernel was compiled for ") + dtypeName(kernel.dtype) +
                         " but the launch has " + dtypeName(a.dtype));
  if (a.heads > 65535 || a.batch > 65535)
    return Status::error("heads and batch must be at most 65535 (grid limits)");
  if (!std::isfinite(a.scale) || a.scale < 0)
    return Status::error("the softmax scale must be finite and non-negative (0 = default)");
  if (a.lse && reinterpret_cast<uintptr_t>(a.lse) % 4 != 0)
    return Status::error("lse is not 4-byte aligned");
  ByteRange q, k, v, o;
  if (Status s = checkTensor("q", a.q, a.qStride, a.batch, a.heads, a.qLen, a.headDim, false, q); !s)
    return s;
  if (Status s = checkTensor("k", a.k, a.kStride, a.batch, a.kvHeads, a.kLen, a.headDim, false, k); !s)
    return s;
  if (Status s = checkTensor("v", a.v, a.vStride, a.batch, a.kvHeads, a.kLen, a.headDim, false, v); !s)
    return s;
  if (Status s = checkTensor("o", a.o, a.oStride, a.batch, a.heads, a.qLen, a.headDim, true, o); !s)
    return s;
  // What the kernel writes must not share memory with anything else it
  // reads or writes (compared by the address ranges the tensors span).
  const std::pair<const char *, ByteRange> inputs[] = {{"q", q}, {"k", k}, {"v", v}};
  for (auto [name, range] : inputs)
    if (o.overlaps(range))
      return Status::error(std::string("o shares memory with ") + name);
  if (!a.lse)
    return Status::success();
  // batch, heads <= 65535 and qLen < 2^31: the count fits in 64 bits.
  uintptr_t begin = reinterpret_cast<uintptr_t>(a.lse), end = 0;
  if (__builtin_add_overflow(begin, uintptr_t(4) * uintptr_t(a.batch) * uintptr_t(a.heads) *
                                        uintptr_t(a.qLen), &end))
    return Status::error("lse extends past the end of the address space");
  ByteRange lse{begin, end};
  for (auto [name, range] : inputs)
    if (lse.overlaps(range))
      return Status::error(std::string("lse shares memory with ") + name);
  if (lse.overlaps(o))
    return Status::error("lse shares memory with o");
  return Status::success();
}

struct AttentionKernel::Impl {
  CUmodule module = nullptr;
  CUfunction function = nullptr;
  KernelInfo info;
  ~Impl() {
    const Api *a;
    if (module && driver::get(a))
      a->moduleUnload(module);
  }
};

AttentionKernel::AttentionKernel() = default;
AttentionKernel::~AttentionKernel() = default;
AttentionKernel::AttentionKernel(AttentionKernel &&) noexcept = default;
AttentionKernel &AttentionKernel::operator=(AttentionKernel &&) noexcept = default;

const KernelInfo &AttentionKernel::info() const { return impl->info; }

Status AttentionKernel::load(const std::vector<char> &cubin, AttentionKernel &out) {
  const Api *a;
  if (Status s = driver::get(a); !s)
    return s;
  auto impl = std::make_unique<Impl>();
  if (Status s = check(a->moduleLoadData(&impl->module, cubin.data()), "cuModuleLoadData"); !s)
    return s;
  if (Status s = check(a->moduleGetFunction(&impl->function, impl->module, "sieve_attention_fwd"),
                       "the module has no sieve_attention_fwd");
      !s)
    return s;
  // {threads, shared bytes, tile_q, tile_k, head_dim, is_fp16} (the template's
  // launch-info array).
  CUdeviceptr ptr;
  size_t size = 0;
  if (Status s = check(a->moduleGetGlobal(&ptr, &size, impl->module, "sieve_fwd_launch_info"),
                       "the module has no sieve_fwd_launch_info");
      !s)
    return s;
  int values[6] = {};
  if (Status s = check(a->memcpyDtoH(values, ptr, std::min(size, sizeof values)), "cuMemcpyDtoH"); !s)
    return s;
  KernelInfo &k = impl->info;
  k.threads = values[0], k.sharedBytes = values[1], k.tileQ = values[2], k.tileK = values[3];
  if (size >= sizeof values) {
    k.headDim = values[4];
    k.dtype = values[5] ? ElementType::FP16 : ElementType::BF16;
  }
  // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES: above 48 KiB it must be raised.
  if (Status s = check(a->funcSetAttribute(impl->function, 8, k.sharedBytes),
                       "cuFuncSetAttribute(max dynamic shared memory)");
      !s)
    return s;
  out.impl = std::move(impl);
  return Status::success();
}

Status AttentionKernel::launch(const AttentionArgs &args, void *stream) const {
  if (!impl)
    return Status::error("the kernel is not loaded");
  if (Status s = validateLaunch(args, impl->info); !s)
    return s;
  const Api *a;
  if (Status s = driver::get(a); !s)
    return s;
  FwdParams p{args.q, args.k, args.v, args.o, args.lse, args.batch, args.heads,
              args.kvHeads, args.qLen, args.kLen,
              args.scale > 0 ? args.scale : 1.0f / std::sqrt(float(args.headDim)), {}};
  const int64_t *src[4] = {args.qStride, args.kStride, args.vStride, args.oStride};
  for (int t = 0; t < 4; ++t)
    for (int i = 0; i < 3; ++i)
      p.strides[3 * t + i] = src[t][i];
  void *params[] = {&p};
  unsigned tiles = unsigned((args.qLen + impl->info.tileQ - 1) / impl->info.tileQ);
  return check(a->launchKernel(impl->function, tiles, args.heads, args.batch,
                               impl->info.threads, 1, 1, impl->info.sharedBytes,
                               reinterpret_cast<CUstream>(stream), params, nullptr),
               "cuLaunchKernel");
}
