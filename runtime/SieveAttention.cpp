//===- SieveAttention.cpp - Loading and launching kernels -------*- C++ -*-===//
//
// Decode launches are checked and sized in SieveDecodeArgs.cpp.

#include "SieveDriver.h"
#include "SieveLaunchChecks.h"
#include "SieveTensorMap.h"
#include "sieve/Attention.h"
#include "sieve/sieve_kernel_abi.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <mutex>

using namespace sieve;
using namespace sieve::driver;
using sieve::detail::ByteRange;
using sieve::detail::checkTensor;
using sieve::detail::DecodeWorkspaceLayout;
using sieve::detail::decodeRowTiles;

// The parameters cross to the kernel by value, so the host's view of the ABI
// struct must be the device's: both compile sieve_kernel_abi.h.
static_assert(sizeof(sieve_fwd_params) == 5 * 8 + 6 * 4 + 12 * 8, "unexpected padding");
static_assert(sizeof(sieve_decode_params) == 12 * 8 + 10 * 4 + 12 * 8, "unexpected padding");
// sieve_bwd_params: 8 ints and a float, then 4 bytes of alignment before the strides.
static_assert(sizeof(sieve_bwd_params) == 13 * 8 + 9 * 4 + 4 + 24 * 8, "unexpected padding");

Status detail::checkTensor(const char *name, const void *ptr, const int64_t s[3], int64_t batch,
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

const char *sieve::elementTypeName(ElementType type) {
  return type == ElementType::FP16 ? "fp16" : "bf16";
}

bool sieve::parseElementType(const std::string &name, ElementType &type) {
  for (ElementType t : {ElementType::BF16, ElementType::FP16})
    if (name == elementTypeName(t)) {
      type = t;
      return true;
    }
  return false;
}

void AttentionArgs::setContiguousStrides() {
  auto fill = [&](int64_t *s, int64_t heads, int64_t rows) {
    s[2] = headDim, s[1] = rows * headDim, s[0] = heads * rows * headDim;
  };
  fill(qStride, heads, qLen);
  fill(kStride, kvHeads, kLen);
  fill(vStride, kvHeads, kLen);
  fill(oStride, heads, qLen);
}

namespace {
/// The checks of a launch's sizes, shared by AttentionArgs and BackwardArgs
/// (the same field names): positive sizes, qLen <= kLen, heads a multiple
/// of kvHeads, the kernel's head dim and element type, grid limits, the
/// scale, lse's alignment.
template <class Args> Status checkShape(const Args &a, const KernelInfo &kernel) {
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
    return Status::error(std::string("the kernel was compiled for ") + elementTypeName(kernel.dtype) +
                         " but the launch has " + elementTypeName(a.dtype));
  if (a.heads > 65535 || a.batch > 65535)
    return Status::error("heads and batch must be at most 65535 (grid limits)");
  if (!std::isfinite(a.scale) || a.scale < 0)
    return Status::error("the softmax scale must be finite and non-negative (0 = default)");
  if (a.lse && reinterpret_cast<uintptr_t>(a.lse) % 4 != 0)
    return Status::error("lse is not 4-byte aligned");
  return Status::success();
}
} // namespace

Status sieve::validateLaunch(const AttentionArgs &a, const KernelInfo &kernel) {
  if (Status s = checkShape(a, kernel); !s)
    return s;
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

/// The cubin and, per context it was used in, its module and function.
struct AttentionKernel::Impl {
  std::vector<char> image;
  KernelInfo info;
  struct Loaded {
    CUcontext context;
    CUmodule module;
    CUfunction function;
    CUfunction combine; ///< Decode modules only.
    CUfunction pre, post, dq; ///< Backward modules only (function: the main entry).
    int multiprocessors; ///< Of the context's device.
    int blocksPerSm = 2; ///< Decode: blocks of the decode kernel one SM holds.
  };
  std::mutex mutex;
  std::vector<Loaded> loaded;

  ~Impl() {
    const Api *a;
    if (loaded.empty() || !driver::get(a))
      return;
    // A module is unloaded from its own context.
    for (const Loaded &l : loaded)
      if (check(a->ctxPushCurrent(l.context), "cuCtxPushCurrent")) {
        a->moduleUnload(l.module);
        CUcontext popped;
        a->ctxPopCurrent(&popped);
      }
  }

  /// The module's functions in `context`, loading it there on first use.
  Status functionIn(const Api *a, CUcontext context, Loaded &out) {
    std::lock_guard<std::mutex> guard(mutex);
    for (const Loaded &l : loaded)
      if (l.context == context) {
        out = l;
        return Status::success();
      }
    Loaded l{context, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, 0};
    if (Status s = check(a->moduleLoadData(&l.module, image.data()), "cuModuleLoadData"); !s)
      return s;
    // The first load reads the launch information (the same in every context).
    Status s = loaded.empty() ? readInfo(a, l.module) : Status::success();
    auto get = [&](CUfunction *f, const char *entry) {
      if (s)
        s = check(a->moduleGetFunction(f, l.module, entry),
                  (std::string("the module has no ") + entry).c_str());
    };
    // Above 48 KiB of dynamic shared memory the limit must be raised.
    auto raise = [&](CUfunction f, int bytes) {
      if (s)
        s = check(a->funcSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
                  "cuFuncSetAttribute(max dynamic shared memory)");
    };
    switch (info.operation) {
    case KernelOperation::Forward: get(&l.function, SIEVE_FWD_ENTRY); break;
    case KernelOperation::Decode:
      get(&l.function, SIEVE_DECODE_ENTRY);
      get(&l.combine, SIEVE_COMBINE_ENTRY);
      break;
    case KernelOperation::Backward:
      get(&l.function, SIEVE_BWD_ENTRY);
      get(&l.pre, SIEVE_BWD_PRE_ENTRY);
      get(&l.post, SIEVE_BWD_POST_ENTRY);
      get(&l.dq, SIEVE_BWD_DQ_ENTRY);
      break;
    }
    CUdevice device = 0;
    if (s)
      s = check(a->ctxGetDevice(&device), "cuCtxGetDevice");
    if (s)
      s = check(a->deviceGetAttribute(&l.multiprocessors, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
                                      device),
                "cuDeviceGetAttribute(multiprocessor count)");
    // A kernel that needs more shared memory than the device gives a block
    // is named here, not by the driver's bare error below. (A driver that
    // cannot say leaves it to that error.)
    int optin = 0;
    const int need = std::max(info.sharedBytes, info.auxSharedBytes);
    if (s && a->deviceGetAttribute(&optin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
                                   device) == CUDA_SUCCESS &&
        optin > 0 && need > optin)
      s = Status::error("the kernel needs " + std::to_string(need) +
                        " bytes of shared memory per block but this device allows " +
                        std::to_string(optin) + " (head dim 64 needs less)");
    raise(l.function, info.sharedBytes);
    if (info.operation == KernelOperation::Backward)
      raise(l.dq, info.auxSharedBytes);
    // Decode's auto split count fills one wave: as many blocks as the SMs
    // hold at once (one at head dim 128 on an sm_80's 164 KiB, two on an
    // H200). A driver without the query keeps the default of two.
    int perSm = 0;
    if (s && info.operation == KernelOperation::Decode && a->occupancyMaxActiveBlocksPerMultiprocessor &&
        a->occupancyMaxActiveBlocksPerMultiprocessor(&perSm, l.function, info.threads,
                                                     size_t(info.sharedBytes)) == CUDA_SUCCESS &&
        perSm > 0)
      l.blocksPerSm = perSm;
    if (!s) {
      a->moduleUnload(l.module);
      return s;
    }
    loaded.push_back(l);
    out = l;
    return Status::success();
  }

  /// The module's functions in the calling thread's current context.
  Status current(const Api *&a, Loaded &out) {
    CUcontext context;
    if (Status s = currentContext(a, context); !s)
      return s;
    return functionIn(a, context, out);
  }

  /// The split count of a decode launch in the context `l` belongs to.
  int splitsFor(const DecodeArgs &args, const Loaded &l) const {
    return args.splits ? args.splits
                       : chooseDecodeSplits(args, info, l.multiprocessors, l.blocksPerSm);
  }

  /// Reads and checks the module's sieve_launch_info.
  Status readInfo(const Api *a, CUmodule module) {
    CUdeviceptr ptr;
    size_t size = 0;
    if (Status s = check(a->moduleGetGlobal(&ptr, &size, module, SIEVE_LAUNCH_SYMBOL),
                         "the module has no " SIEVE_LAUNCH_SYMBOL " (not a sieve kernel?)");
        !s)
      return s;
    sieve_launch_info li;
    std::memset(&li, 0, sizeof li);
    if (Status s = check(a->memcpyDtoH(&li, ptr, std::min(size, sizeof li)), "cuMemcpyDtoH"); !s)
      return s;
    if (size < sizeof(int) || li.abi_version != SIEVE_KERNEL_ABI_VERSION)
      return Status::error("the kernel was built for kernel ABI version " +
                           std::to_string(size < sizeof(int) ? 0 : li.abi_version) +
                           " but this sieve reads version " +
                           std::to_string(SIEVE_KERNEL_ABI_VERSION) + ": compile it again");
    if (size != sizeof li ||
        (li.operation != SIEVE_ABI_OP_FORWARD && li.operation != SIEVE_ABI_OP_DECODE &&
         li.operation != SIEVE_ABI_OP_BACKWARD))
      return Status::error("the module is not a sieve attention kernel");
    info.operation = li.operation == SIEVE_ABI_OP_DECODE     ? KernelOperation::Decode
                     : li.operation == SIEVE_ABI_OP_BACKWARD ? KernelOperation::Backward
                                                             : KernelOperation::Forward;
    info.auxSharedBytes = li.aux_shared_bytes;
    info.tensorMaps = li.tensor_maps;
    if (li.tensor_maps != 0 && (li.tensor_maps != 3 || li.operation != SIEVE_ABI_OP_FORWARD))
      return Status::error("the module asks for " + std::to_string(li.tensor_maps) +
                           " tensor maps; sieve encodes 3 (q, k, v) for forward kernels");
    info.pagedKv = li.kv_layout == SIEVE_ABI_KV_PAGED;
    info.combineThreads = li.combine_threads;
    info.headDim = li.head_dim;
    info.dtype = li.dtype == SIEVE_ABI_FP16 ? ElementType::FP16 : ElementType::BF16;
    info.tileQ = li.tile_q, info.tileK = li.tile_k;
    info.threads = li.threads, info.sharedBytes = li.shared_bytes;
    info.auxThreads = li.aux_threads > 0 ? li.aux_threads : li.threads;
    info.splitsHeads = li.head_split == 1;
    return Status::success();
  }
};

AttentionKernel::AttentionKernel() = default;
AttentionKernel::~AttentionKernel() = default;
AttentionKernel::AttentionKernel(AttentionKernel &&) noexcept = default;
AttentionKernel &AttentionKernel::operator=(AttentionKernel &&) noexcept = default;

const KernelInfo &AttentionKernel::info() const { return impl->info; }

Status AttentionKernel::load(const std::vector<char> &cubin, AttentionKernel &out) {
  if (cubin.size() < 4 || std::memcmp(cubin.data(), "\x7f" "ELF", 4) != 0)
    return Status::error("not a cubin (no ELF header)");
  const Api *a;
  CUcontext context;
  if (Status s = currentContext(a, context); !s)
    return s;
  auto impl = std::make_unique<Impl>();
  impl->image = cubin;
  Impl::Loaded loaded;
  if (Status s = impl->functionIn(a, context, loaded); !s)
    return s;
  out.impl = std::move(impl);
  return Status::success();
}

Status AttentionKernel::launch(const AttentionArgs &args, void *stream) const {
  if (!impl)
    return Status::error("the kernel is not loaded");
  if (impl->info.operation == KernelOperation::Decode)
    return Status::error("this is a decode kernel: launch it with launchDecode");
  if (impl->info.operation == KernelOperation::Backward)
    return Status::error("this is a backward kernel: launch it with launchBackward");
  if (Status s = validateLaunch(args, impl->info); !s)
    return s;
  const Api *a;
  Impl::Loaded loaded;
  if (Status s = impl->current(a, loaded); !s)
    return s;
  CUfunction function = loaded.function;
  sieve_fwd_params p{args.q, args.k, args.v, args.o, args.lse, args.batch, args.heads,
                     args.kvHeads, args.qLen, args.kLen,
                     args.scale > 0 ? args.scale : 1.0f / std::sqrt(float(args.headDim)),
                     args.qStride[0], args.qStride[1], args.qStride[2],
                     args.kStride[0], args.kStride[1], args.kStride[2],
                     args.vStride[0], args.vStride[1], args.vStride[2],
                     args.oStride[0], args.oStride[1], args.oStride[2]};
  // A TMA kernel takes q, k and v a second time, as tensor maps.
  driver::TensorMap maps[3];
  void *params[] = {&p, &maps[0], &maps[1], &maps[2]};
  if (impl->info.tensorMaps == 3) {
    const bool bf16 = args.dtype == ElementType::BF16;
    const struct {
      const char *name;
      const void *base;
      int heads, rows, boxRows;
      const int64_t *stride;
    } ops[3] = {{"q", args.q, args.heads, args.qLen, impl->info.tileQ, args.qStride},
                {"k", args.k, args.kvHeads, args.kLen, impl->info.tileK, args.kStride},
                {"v", args.v, args.kvHeads, args.kLen, impl->info.tileK, args.vStride}};
    for (int i = 0; i < 3; ++i) {
      driver::TileOperand op;
      op.base = ops[i].base, op.bf16 = bf16;
      op.batch = args.batch, op.heads = ops[i].heads, op.rows = ops[i].rows;
      op.headDim = args.headDim, op.boxRows = ops[i].boxRows;
      std::copy(ops[i].stride, ops[i].stride + 3, op.stride);
      if (Status s = driver::encodeTileOperand(op, maps[i]); !s)
        return Status::error(std::string(ops[i].name) + ": " + s.message);
    }
  }
  unsigned tiles = unsigned((args.qLen + impl->info.tileQ - 1) / impl->info.tileQ);
  return check(a->launchKernel(function, tiles, args.heads, args.batch, impl->info.threads, 1, 1,
                               impl->info.sharedBytes, reinterpret_cast<CUstream>(stream), params,
                               nullptr),
               "cuLaunchKernel");
}

//===----------------------------------------------------------------------===//
// Decode
//===----------------------------------------------------------------------===//

Status AttentionKernel::decodeWorkspace(const DecodeArgs &args, int &splits, size_t &bytes) const {
  if (!impl)
    return Status::error("the kernel is not loaded");
  if (impl->info.operation != KernelOperation::Decode)
    return Status::error("this is a forward kernel: it needs no decode workspace");
  const Api *a;
  Impl::Loaded loaded;
  if (Status s = impl->current(a, loaded); !s)
    return s;
  splits = impl->splitsFor(args, loaded);
  bytes = decodeWorkspaceBytes(args, splits);
  return Status::success();
}

Status AttentionKernel::launchDecode(const DecodeArgs &args, void *stream) const {
  if (!impl)
    return Status::error("the kernel is not loaded");
  const KernelInfo &info = impl->info;
  if (info.operation != KernelOperation::Decode)
    return Status::error(std::string("this is a ") +
                         (info.operation == KernelOperation::Backward ? "backward" : "forward") +
                         " kernel: decode needs a decode kernel (--kernel decode-sm80-mma)");
  const Api *a;
  Impl::Loaded loaded;
  if (Status s = impl->current(a, loaded); !s)
    return s;
  const int splits = impl->splitsFor(args, loaded);
  if (Status s = validateDecode(args, info, splits); !s)
    return s;
  const DecodeWorkspaceLayout ws(args, splits);
  char *work = static_cast<char *>(args.workspace);
  sieve_decode_params p{};
  p.q = args.q, p.k = args.k, p.v = args.v, p.o = args.o, p.lse = args.lse;
  p.partial_o = splits > 1 ? reinterpret_cast<float *>(work) : nullptr;
  p.partial_lse = splits > 1 ? reinterpret_cast<float *>(work + ws.lseOffset) : nullptr;
  p.tickets = decodeFusesCombine(args, info, splits) ? args.tickets : nullptr;
  p.cu_seqlens_q = args.cuSeqlensQ, p.cu_seqlens_k = args.cuSeqlensK;
  p.seqlens_k = args.seqlensK, p.block_table = args.blockTable;
  p.batch = args.batch, p.heads = args.heads, p.kv_heads = args.kvHeads;
  p.q_len = args.qLen, p.k_len = args.kLen, p.splits = splits;
  p.page_size = args.pageSize, p.max_pages = args.maxPages, p.num_pages = args.numPages;
  p.scale = args.scale > 0 ? args.scale : 1.0f / std::sqrt(float(args.headDim));
  p.q_stride_b = args.qStride[0], p.q_stride_h = args.qStride[1], p.q_stride_r = args.qStride[2];
  p.k_stride_b = args.kStride[0], p.k_stride_h = args.kStride[1], p.k_stride_r = args.kStride[2];
  p.v_stride_b = args.vStride[0], p.v_stride_h = args.vStride[1], p.v_stride_r = args.vStride[2];
  p.o_stride_b = args.oStride[0], p.o_stride_h = args.oStride[1], p.o_stride_r = args.oStride[2];
  void *params[] = {&p};
  CUstream s = reinterpret_cast<CUstream>(stream);
  const unsigned gridX = unsigned(int64_t(splits) * decodeRowTiles(args, info));
  if (Status st = check(a->launchKernel(loaded.function, gridX, unsigned(args.kvHeads),
                                        unsigned(args.batch), unsigned(info.threads), 1, 1,
                                        unsigned(info.sharedBytes), s, params, nullptr),
                        "cuLaunchKernel(decode)");
      !st || splits == 1 || p.tickets) // fused: the decode kernel combines
    return st;
  const int warpsPerBlock = std::max(info.combineThreads / 32, 1);
  const int64_t cells = int64_t(args.batch) * args.qLen * args.heads;
  const unsigned blocks = unsigned((cells + warpsPerBlock - 1) / warpsPerBlock);
  return check(a->launchKernel(loaded.combine, blocks, 1, 1, unsigned(info.combineThreads), 1, 1, 0,
                               s, params, nullptr),
               "cuLaunchKernel(combine)");
}

//===----------------------------------------------------------------------===//
// Backward
//===----------------------------------------------------------------------===//

void BackwardArgs::setContiguousStrides() {
  auto fill = [&](int64_t *s, int64_t heads, int64_t rows) {
    s[2] = headDim, s[1] = rows * headDim, s[0] = heads * rows * headDim;
  };
  for (int64_t *s : {qStride, oStride, dOStride, dqStride})
    fill(s, heads, qLen);
  for (int64_t *s : {kStride, vStride, dkStride, dvStride})
    fill(s, kvHeads, kLen);
}

namespace {
/// Where the backward's scratch lives: lse2 and D ([batch, heads, qPad]
/// float32 each), then dq_accum ([batch, heads, qPad, headDim] float32)
/// unless deterministic, then with a head split dkv_accum (dK and dV, each
/// [batch, kvHeads, kPad, headDim] float32). qPad and kPad are qLen and
/// kLen rounded up to the tiles.
struct BackwardLayout {
  int64_t qPad = 0, kPad = 0;
  int headSplit = 1;
  size_t deltaOffset = 0, accumOffset = 0, dkvOffset = 0, bytes = 0;
  BackwardLayout(const BackwardArgs &a, const KernelInfo &k) {
    auto pad = [](int64_t n, int tile) {
      const int64_t t = std::max(tile, 1);
      return (std::max<int64_t>(n, 0) + t - 1) / t * t;
    };
    qPad = pad(a.qLen, k.tileQ), kPad = pad(a.kLen, k.tileK);
    headSplit = backwardHeadSplit(a, k);
    const size_t rows = size_t(std::max(a.batch, 0)) * size_t(std::max(a.heads, 0)) * size_t(qPad);
    const size_t rowBytes = size_t(std::max(a.headDim, 0)) * 4;
    auto align = [](size_t n) { return (n + 255) / 256 * 256; };
    deltaOffset = align(rows * 4);
    accumOffset = deltaOffset + align(rows * 4);
    dkvOffset = a.deterministic ? accumOffset : accumOffset + align(rows * rowBytes);
    const size_t keyRows = size_t(std::max(a.batch, 0)) * size_t(std::max(a.kvHeads, 0)) * size_t(kPad);
    bytes = headSplit > 1 ? dkvOffset + 2 * keyRows * rowBytes : dkvOffset;
  }
};
} // namespace

int sieve::backwardHeadSplit(const BackwardArgs &a, const KernelInfo &k) {
  if (a.headSplit > 0)
    return a.headSplit;
  const int group = a.kvHeads > 0 && a.heads % a.kvHeads == 0 ? a.heads / a.kvHeads : 1;
  // Long columns (a sink every query tile attends) come with long query
  // ranges; for a short query chunk against a long cache the fp32 dK/dV
  // arrays would cost more than the split saves.
  if (a.deterministic || !k.splitsHeads || group == 1 || int64_t(a.qLen) * 2 < a.kLen)
    return 1;
  // At most ceil(group / 16) query heads per CTA: one up to groups of 16.
  // On an H200 (docs/performance.md): 128K 32/8 takes 71.0 ms unsplit, 60.3
  // with 2 and 55.0 with 4 (32/32: 53.7); 32K 32/1 62.1, 21.7 with 4, 12.8
  // with 16.
  const int perCta = (group + 15) / 16;
  int split = (group + perCta - 1) / perCta;
  while (group % split != 0)
    ++split;
  return split;
}

size_t sieve::backwardWorkspaceBytes(const BackwardArgs &args, const KernelInfo &kernel) {
  return BackwardLayout(args, kernel).bytes;
}

Status sieve::validateBackward(const BackwardArgs &a, const KernelInfo &kernel) {
  if (kernel.operation != KernelOperation::Backward)
    return Status::error("this is not a backward kernel: compile one with --kernel bwd-sm80-mma");
  if (!a.o)
    return Status::error("o (the forward's output) is null");
  if (!a.lse)
    return Status::error("lse (the forward's, [batch, heads, q_len] float32) is null");
  if (Status s = checkShape(a, kernel); !s)
    return s;
  ByteRange q, k, v, o, dO, dq, dk, dv;
  if (Status s = checkTensor("q", a.q, a.qStride, a.batch, a.heads, a.qLen, a.headDim, false, q); !s)
    return s;
  if (Status s = checkTensor("k", a.k, a.kStride, a.batch, a.kvHeads, a.kLen, a.headDim, false, k); !s)
    return s;
  if (Status s = checkTensor("v", a.v, a.vStride, a.batch, a.kvHeads, a.kLen, a.headDim, false, v); !s)
    return s;
  if (Status s = checkTensor("o", a.o, a.oStride, a.batch, a.heads, a.qLen, a.headDim, false, o); !s)
    return s;
  if (Status s = checkTensor("dO", a.dO, a.dOStride, a.batch, a.heads, a.qLen, a.headDim, false, dO); !s)
    return s;
  if (Status s = checkTensor("dq", a.dq, a.dqStride, a.batch, a.heads, a.qLen, a.headDim, true, dq); !s)
    return s;
  if (Status s = checkTensor("dk", a.dk, a.dkStride, a.batch, a.kvHeads, a.kLen, a.headDim, true, dk); !s)
    return s;
  if (Status s = checkTensor("dv", a.dv, a.dvStride, a.batch, a.kvHeads, a.kLen, a.headDim, true, dv); !s)
    return s;
  const uintptr_t lseBegin = reinterpret_cast<uintptr_t>(a.lse);
  const ByteRange lse{lseBegin, lseBegin + uintptr_t(4) * uintptr_t(a.batch) * uintptr_t(a.heads) *
                                               uintptr_t(a.qLen)};
  if (a.headSplit < 0)
    return Status::error("headSplit is " + std::to_string(a.headSplit) +
                         "; it must be 0 (sieve's choice) or at least 1");
  if (a.headSplit > 1) {
    const int group = a.heads / a.kvHeads;
    if (!kernel.splitsHeads)
      return Status::error("this backward kernel cannot split a KV group's heads (headSplit " +
                           std::to_string(a.headSplit) + "); bwd-sm90-2wg can");
    if (a.deterministic)
      return Status::error("a head split adds dK and dV with atomics: it cannot be deterministic");
    if (group % a.headSplit != 0)
      return Status::error("headSplit " + std::to_string(a.headSplit) +
                           " does not divide the group's " + std::to_string(group) +
                           " query heads per KV head");
  }
  const BackwardLayout layout(a, kernel);
  if (!a.workspace)
    return Status::error("the backward needs a workspace of " + std::to_string(layout.bytes) +
                         " bytes (backwardWorkspaceBytes says how many)");
  if (reinterpret_cast<uintptr_t>(a.workspace) % 16 != 0)
    return Status::error("the workspace is not 16-byte aligned");
  if (a.workspaceBytes < layout.bytes)
    return Status::error("the workspace has " + std::to_string(a.workspaceBytes) +
                         " bytes; this launch needs " + std::to_string(layout.bytes));
  const uintptr_t wsBegin = reinterpret_cast<uintptr_t>(a.workspace);
  const ByteRange ws{wsBegin, wsBegin + layout.bytes};
  const std::pair<const char *, ByteRange> read[] = {
      {"q", q}, {"k", k}, {"v", v}, {"o", o}, {"dO", dO}, {"lse", lse}};
  const std::pair<const char *, ByteRange> written[] = {
      {"dq", dq}, {"dk", dk}, {"dv", dv}, {"the workspace", ws}};
  for (size_t i = 0; i < std::size(written); ++i) {
    for (auto [name, range] : read)
      if (written[i].second.overlaps(range))
        return Status::error(std::string(written[i].first) + " shares memory with " + name);
    for (size_t j = i + 1; j < std::size(written); ++j)
      if (written[i].second.overlaps(written[j].second))
        return Status::error(std::string(written[i].first) + " shares memory with " +
                             written[j].first);
  }
  // The kernels index rows with 32-bit ints up to the padded lengths.
  if (int64_t(a.qLen) + kernel.tileQ > INT32_MAX || int64_t(a.kLen) + kernel.tileK > INT32_MAX)
    return Status::error("query and key lengths must be below 2^31 - " +
                         std::to_string(std::max(kernel.tileQ, kernel.tileK)));
  return Status::success();
}

Status AttentionKernel::launchBackward(const BackwardArgs &args, void *stream) const {
  if (!impl)
    return Status::error("the kernel is not loaded");
  const KernelInfo &info = impl->info;
  if (Status s = validateBackward(args, info); !s)
    return s;
  const Api *a;
  Impl::Loaded loaded;
  if (Status s = impl->current(a, loaded); !s)
    return s;
  const BackwardLayout layout(args, info);
  char *work = static_cast<char *>(args.workspace);
  sieve_bwd_params p{};
  p.q = args.q, p.k = args.k, p.v = args.v, p.o = args.o, p.dout = args.dO, p.lse = args.lse;
  p.dq = args.dq, p.dk = args.dk, p.dv = args.dv;
  p.lse2 = reinterpret_cast<float *>(work);
  p.delta = reinterpret_cast<float *>(work + layout.deltaOffset);
  p.dq_accum = args.deterministic ? nullptr : reinterpret_cast<float *>(work + layout.accumOffset);
  p.dkv_accum = layout.headSplit > 1 ? reinterpret_cast<float *>(work + layout.dkvOffset) : nullptr;
  p.batch = args.batch, p.heads = args.heads, p.kv_heads = args.kvHeads;
  p.q_len = args.qLen, p.k_len = args.kLen, p.q_pad = int(layout.qPad), p.k_pad = int(layout.kPad);
  p.head_split = layout.headSplit;
  p.scale = args.scale > 0 ? args.scale : 1.0f / std::sqrt(float(args.headDim));
  auto strides = [](const int64_t (&from)[3], long long &b, long long &h, long long &r) {
    b = from[0], h = from[1], r = from[2];
  };
  strides(args.qStride, p.q_stride_b, p.q_stride_h, p.q_stride_r);
  strides(args.kStride, p.k_stride_b, p.k_stride_h, p.k_stride_r);
  strides(args.vStride, p.v_stride_b, p.v_stride_h, p.v_stride_r);
  strides(args.oStride, p.o_stride_b, p.o_stride_h, p.o_stride_r);
  strides(args.dOStride, p.do_stride_b, p.do_stride_h, p.do_stride_r);
  strides(args.dqStride, p.dq_stride_b, p.dq_stride_h, p.dq_stride_r);
  strides(args.dkStride, p.dk_stride_b, p.dk_stride_h, p.dk_stride_r);
  strides(args.dvStride, p.dv_stride_b, p.dv_stride_h, p.dv_stride_r);
  void *params[] = {&p};
  CUstream s = reinterpret_cast<CUstream>(stream);
  const unsigned queryTiles = unsigned(layout.qPad / info.tileQ);
  const unsigned keyTiles = unsigned((int64_t(args.kLen) + info.tileK - 1) / info.tileK);
  auto launch = [&](CUfunction f, unsigned x, unsigned y, int threads, int shared,
                    const char *what) {
    return check(a->launchKernel(f, x, y, unsigned(args.batch), unsigned(threads), 1, 1,
                                 unsigned(shared), s, params, nullptr),
                 what);
  };
  const int aux = info.auxThreads;  // pre, post and dq
  if (Status st = launch(loaded.pre, queryTiles, unsigned(args.heads), aux, 0, "cuLaunchKernel(bwd pre)");
      !st)
    return st;
  if (Status st = launch(loaded.function, keyTiles, unsigned(args.kvHeads * layout.headSplit), info.threads,
                         info.sharedBytes, "cuLaunchKernel(bwd)");
      !st)
    return st;
  if (args.deterministic)
    return launch(loaded.dq, queryTiles, unsigned(args.heads), aux, info.auxSharedBytes,
                  "cuLaunchKernel(bwd dq)");
  return launch(loaded.post, queryTiles, unsigned(args.heads), aux, 0, "cuLaunchKernel(bwd post)");
}
