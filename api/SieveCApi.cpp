//===- SieveCApi.cpp - sieve's C API ----------------------------*- C++ -*-===//

#include "sieve/sieve_c.h"
#include "api/SieveCApiSupport.h"
#include "sieve/Sieve.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

using namespace sieve;

struct sieve_kernel {
  AttentionKernel kernel;
};

int capi::fail(const Status &s, char *error, size_t size) {
  if (error && size) {
    std::strncpy(error, s.message.c_str(), size - 1);
    error[size - 1] = '\0';
  }
  return s ? 0 : 1;
}

Status capi::toElementType(int dtype, ElementType &out) {
  if (dtype == SIEVE_BF16)
    out = ElementType::BF16;
  else if (dtype == SIEVE_FP16)
    out = ElementType::FP16;
  else
    return Status::error("dtype must be SIEVE_BF16 (0) or SIEVE_FP16 (1) but is " +
                         std::to_string(dtype));
  return Status::success();
}

int capi::rawDtype(const sieve_dtype &dtype) {
  static_assert(sizeof(sieve_dtype) == sizeof(int), "sieve_dtype is an int in C");
  int value;
  std::memcpy(&value, &dtype, sizeof value);
  return value;
}

bool capi::allocCopy(const std::string &bytes, char **out) {
  *out = static_cast<char *>(std::malloc(bytes.size() + 1));
  if (!*out)
    return false;
  std::memcpy(*out, bytes.data(), bytes.size());
  (*out)[bytes.size()] = '\0';
  return true;
}

namespace {
using capi::fail;
using capi::toElementType;

/// Compiles `spec`; warnings go to stderr unless `quiet` (the caller reports
/// them).
Status compile(const char *spec, const sieve_compile_options *o, CompiledKernel &out,
               bool quiet = false) {
  if (!spec)
    return Status::error("spec is null");
  KernelOptions options;
  if (o) {
    options.headDim = o->head_dim ? o->head_dim : 128;
    if (Status s = toElementType(capi::rawDtype(o->dtype), options.dtype); !s)
      return s;
    options.arch = o->arch ? o->arch : "";
    options.kernel = o->kernel ? o->kernel : "";
  }
  Status s = compileAttention(spec, options, out);
  // Most of the C API has no channel for warnings (sieve_c.h).
  for (size_t i = 0; !quiet && i < out.warnings.size(); ++i)
    std::fprintf(stderr, "sieve: warning: %s\n", out.warnings[i].c_str());
  return s;
}

sieve_compile_options options(int headDim, const sieve_dtype &dtype, const char *arch) {
  sieve_compile_options o;
  o.head_dim = headDim, o.arch = arch, o.kernel = nullptr;
  std::memcpy(&o.dtype, &dtype, sizeof o.dtype); // as it is, for toElementType to judge
  return o;
}
} // namespace

extern "C" const char *sieve_version(void) { return version(); }

extern "C" int sieve_compile_cubin_with_options(const char *spec,
                                                const sieve_compile_options *options,
                                                void *cubin, size_t *size, char *error,
                                                size_t error_size) {
  if (!size)
    return fail(Status::error("size is null"), error, error_size);
  CompiledKernel k;
  if (Status s = compile(spec, options, k); !s)
    return fail(s, error, error_size);
  bool fits = cubin && *size >= k.cubin.size();
  if (fits)
    std::memcpy(cubin, k.cubin.data(), k.cubin.size());
  *size = k.cubin.size();
  return fail(fits || !cubin ? Status::success()
                             : Status::error("the buffer is smaller than the cubin"),
              error, error_size);
}

extern "C" int sieve_compile_cubin(const char *spec, int head_dim, sieve_dtype dtype,
                                   const char *arch, void *cubin, size_t *size, char *error,
                                   size_t error_size) {
  sieve_compile_options o = options(head_dim, dtype, arch);
  return sieve_compile_cubin_with_options(spec, &o, cubin, size, error, error_size);
}

extern "C" int sieve_kernel_create_with_options(const char *spec,
                                                const sieve_compile_options *options,
                                                sieve_kernel **kernel, char *error,
                                                size_t error_size) {
  if (!kernel)
    return fail(Status::error("kernel is null"), error, error_size);
  *kernel = nullptr;
  CompiledKernel k;
  if (Status s = compile(spec, options, k); !s)
    return fail(s, error, error_size);
  auto *out = new sieve_kernel;
  if (Status s = AttentionKernel::load(k.cubin, out->kernel); !s) {
    delete out;
    return fail(s, error, error_size);
  }
  *kernel = out;
  return 0;
}

extern "C" int sieve_kernel_create(const char *spec, int head_dim, sieve_dtype dtype,
                                   const char *arch, sieve_kernel **kernel, char *error,
                                   size_t error_size) {
  sieve_compile_options o = options(head_dim, dtype, arch);
  return sieve_kernel_create_with_options(spec, &o, kernel, error, error_size);
}

extern "C" void sieve_free(void *ptr) { std::free(ptr); }

/// The description sieve_compile returns with a cubin.
static std::string compiledInfo(const CompiledKernel &k, const sieve_compile_options *o) {
  nlohmann::ordered_json info = {
      {"pattern", k.patternName},   {"arch", k.arch},
      {"kernel", k.kernel},         {"tile_q", k.tileQ},
      {"tile_k", k.tileK},          {"head_dim", o && o->head_dim ? o->head_dim : 128},
      {"dtype", o && capi::rawDtype(o->dtype) == SIEVE_FP16 ? "fp16" : "bf16"},
      {"from", k.from},             {"source", k.source},
      {"warnings", k.warnings}};
  return info.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

extern "C" int sieve_compile(const char *spec, const sieve_compile_options *options,
                             void **cubin, size_t *size, char **info, char *error,
                             size_t error_size) {
  if (!cubin || !size)
    return fail(Status::error(cubin ? "size is null" : "cubin is null"), error, error_size);
  *cubin = nullptr, *size = 0;
  if (info)
    *info = nullptr;
  CompiledKernel k;
  if (Status s = compile(spec, options, k, /*quiet=*/info != nullptr); !s)
    return fail(s, error, error_size);
  char *binary = nullptr, *text = nullptr;
  std::string bytes(k.cubin.begin(), k.cubin.end());
  if (!capi::allocCopy(bytes, &binary) ||
      (info && !capi::allocCopy(compiledInfo(k, options), &text))) {
    std::free(binary);
    return fail(Status::error("out of memory"), error, error_size);
  }
  *cubin = binary, *size = bytes.size();
  if (info)
    *info = text;
  return 0;
}

extern "C" int sieve_kernel_load(const void *cubin, size_t size, sieve_kernel **kernel,
                                 char *error, size_t error_size) {
  if (!kernel || !cubin)
    return fail(Status::error(kernel ? "cubin is null" : "kernel is null"), error, error_size);
  *kernel = nullptr;
  auto *out = new sieve_kernel;
  const char *bytes = static_cast<const char *>(cubin);
  if (Status s = AttentionKernel::load(std::vector<char>(bytes, bytes + size), out->kernel); !s) {
    delete out;
    return fail(s, error, error_size);
  }
  *kernel = out;
  return 0;
}

extern "C" void sieve_set_contiguous_strides(sieve_attention_args *args) {
  if (!args)
    return;
  AttentionArgs a;
  a.heads = args->heads, a.kvHeads = args->kv_heads, a.qLen = args->q_len;
  a.kLen = args->k_len, a.headDim = args->head_dim;
  a.setContiguousStrides();
  std::memcpy(args->q_stride, a.qStride, sizeof a.qStride);
  std::memcpy(args->k_stride, a.kStride, sizeof a.kStride);
  std::memcpy(args->v_stride, a.vStride, sizeof a.vStride);
  std::memcpy(args->o_stride, a.oStride, sizeof a.oStride);
}

extern "C" int sieve_kernel_launch(const sieve_kernel *kernel, const sieve_attention_args *args,
                                   void *stream, char *error, size_t error_size) {
  if (!kernel || !args)
    return fail(Status::error(kernel ? "args is null" : "kernel is null"), error, error_size);
  AttentionArgs a;
  a.q = args->q, a.k = args->k, a.v = args->v, a.o = args->o, a.lse = args->lse;
  a.batch = args->batch, a.heads = args->heads, a.kvHeads = args->kv_heads;
  a.qLen = args->q_len, a.kLen = args->k_len, a.headDim = args->head_dim;
  if (Status s = toElementType(capi::rawDtype(args->dtype), a.dtype); !s)
    return fail(s, error, error_size);
  std::memcpy(a.qStride, args->q_stride, sizeof a.qStride);
  std::memcpy(a.kStride, args->k_stride, sizeof a.kStride);
  std::memcpy(a.vStride, args->v_stride, sizeof a.vStride);
  std::memcpy(a.oStride, args->o_stride, sizeof a.oStride);
  a.scale = args->scale;
  return fail(kernel->kernel.launch(a, stream), error, error_size);
}

namespace {
/// The C++ form of a decode launch (the dtype checked).
Status toDecodeArgs(const sieve_decode_args &c, DecodeArgs &a) {
  a.q = c.q, a.k = c.k, a.v = c.v, a.o = c.o, a.lse = c.lse;
  a.cuSeqlensQ = c.cu_seqlens_q, a.cuSeqlensK = c.cu_seqlens_k;
  a.seqlensK = c.seqlens_k, a.blockTable = c.block_table;
  a.batch = c.batch, a.heads = c.heads, a.kvHeads = c.kv_heads;
  a.qLen = c.q_len, a.kLen = c.k_len, a.headDim = c.head_dim;
  a.totalQ = c.total_q, a.totalK = c.total_k;
  a.pageSize = c.page_size, a.maxPages = c.max_pages, a.numPages = c.num_pages;
  a.splits = c.splits, a.workspace = c.workspace, a.workspaceBytes = c.workspace_bytes;
  std::memcpy(a.qStride, c.q_stride, sizeof a.qStride);
  std::memcpy(a.kStride, c.k_stride, sizeof a.kStride);
  std::memcpy(a.vStride, c.v_stride, sizeof a.vStride);
  std::memcpy(a.oStride, c.o_stride, sizeof a.oStride);
  a.scale = c.scale;
  a.tickets = c.tickets, a.ticketCount = c.ticket_count;
  switch (c.combine) {
  case SIEVE_COMBINE_AUTO:
    a.combine = DecodeArgs::Combine::Auto;
    break;
  case SIEVE_COMBINE_KERNEL:
    a.combine = DecodeArgs::Combine::Kernel;
    break;
  case SIEVE_COMBINE_FUSED:
    a.combine = DecodeArgs::Combine::Fused;
    break;
  default:
    return Status::error("combine must be SIEVE_COMBINE_AUTO, _KERNEL or _FUSED, not " +
                         std::to_string(c.combine));
  }
  return toElementType(capi::rawDtype(c.dtype), a.dtype);
}
} // namespace

extern "C" void sieve_set_decode_strides(sieve_decode_args *args) {
  if (!args)
    return;
  DecodeArgs a;
  a.blockTable = args->block_table;
  a.heads = args->heads, a.kvHeads = args->kv_heads, a.qLen = args->q_len, a.kLen = args->k_len;
  a.headDim = args->head_dim, a.pageSize = args->page_size;
  a.setContiguousStrides();
  std::memcpy(args->q_stride, a.qStride, sizeof a.qStride);
  std::memcpy(args->k_stride, a.kStride, sizeof a.kStride);
  std::memcpy(args->v_stride, a.vStride, sizeof a.vStride);
  std::memcpy(args->o_stride, a.oStride, sizeof a.oStride);
}

extern "C" int sieve_kernel_decode_workspace(const sieve_kernel *kernel,
                                             const sieve_decode_args *args, int *splits,
                                             size_t *bytes, char *error, size_t error_size) {
  if (!kernel || !args || !splits || !bytes)
    return fail(Status::error(!kernel ? "kernel is null"
                              : !args ? "args is null"
                                      : "splits and bytes must not be null"),
                error, error_size);
  DecodeArgs a;
  if (Status s = toDecodeArgs(*args, a); !s)
    return fail(s, error, error_size);
  return fail(kernel->kernel.decodeWorkspace(a, *splits, *bytes), error, error_size);
}

extern "C" int sieve_kernel_decode_tickets(const sieve_kernel *kernel,
                                           const sieve_decode_args *args, int64_t *count,
                                           char *error, size_t error_size) {
  if (!kernel || !args || !count)
    return fail(Status::error(!kernel ? "kernel is null" : !args ? "args is null" : "count is null"),
                error, error_size);
  DecodeArgs a;
  if (Status s = toDecodeArgs(*args, a); !s)
    return fail(s, error, error_size);
  if (kernel->kernel.info().operation != KernelOperation::Decode)
    return fail(Status::error("this is not a decode kernel: it takes no tickets"), error,
                error_size);
  *count = decodeTicketCount(a, kernel->kernel.info());
  return fail(Status::success(), error, error_size);
}

extern "C" int sieve_kernel_launch_decode(const sieve_kernel *kernel, const sieve_decode_args *args,
                                          void *stream, char *error, size_t error_size) {
  if (!kernel || !args)
    return fail(Status::error(kernel ? "args is null" : "kernel is null"), error, error_size);
  DecodeArgs a;
  if (Status s = toDecodeArgs(*args, a); !s)
    return fail(s, error, error_size);
  return fail(kernel->kernel.launchDecode(a, stream), error, error_size);
}

namespace {
/// The C++ form of a backward launch (the dtype checked).
Status toBackwardArgs(const sieve_backward_args &c, BackwardArgs &a) {
  a.q = c.q, a.k = c.k, a.v = c.v, a.o = c.o, a.dO = c.d_o, a.lse = c.lse;
  a.dq = c.dq, a.dk = c.dk, a.dv = c.dv;
  a.batch = c.batch, a.heads = c.heads, a.kvHeads = c.kv_heads;
  a.qLen = c.q_len, a.kLen = c.k_len, a.headDim = c.head_dim;
  const std::pair<int64_t *, const int64_t *> strides[] = {
      {a.qStride, c.q_stride},   {a.kStride, c.k_stride},   {a.vStride, c.v_stride},
      {a.oStride, c.o_stride},   {a.dOStride, c.do_stride}, {a.dqStride, c.dq_stride},
      {a.dkStride, c.dk_stride}, {a.dvStride, c.dv_stride}};
  for (auto [to, from] : strides)
    std::memcpy(to, from, 3 * sizeof(int64_t));
  a.scale = c.scale;
  a.deterministic = c.deterministic != 0;
  a.headSplit = c.head_split;
  a.workspace = c.workspace, a.workspaceBytes = c.workspace_bytes;
  return toElementType(capi::rawDtype(c.dtype), a.dtype);
}
} // namespace

extern "C" void sieve_set_backward_strides(sieve_backward_args *args) {
  if (!args)
    return;
  BackwardArgs a;
  a.heads = args->heads, a.kvHeads = args->kv_heads, a.qLen = args->q_len, a.kLen = args->k_len;
  a.headDim = args->head_dim;
  a.setContiguousStrides();
  const std::pair<int64_t *, const int64_t *> strides[] = {
      {args->q_stride, a.qStride},   {args->k_stride, a.kStride},   {args->v_stride, a.vStride},
      {args->o_stride, a.oStride},   {args->do_stride, a.dOStride}, {args->dq_stride, a.dqStride},
      {args->dk_stride, a.dkStride}, {args->dv_stride, a.dvStride}};
  for (auto [to, from] : strides)
    std::memcpy(to, from, 3 * sizeof(int64_t));
}

extern "C" int sieve_kernel_backward_workspace(const sieve_kernel *kernel,
                                               const sieve_backward_args *args, size_t *bytes,
                                               char *error, size_t error_size) {
  if (!kernel || !args || !bytes)
    return fail(Status::error(!kernel ? "kernel is null"
                              : !args ? "args is null"
                                      : "bytes must not be null"),
                error, error_size);
  if (kernel->kernel.info().operation != KernelOperation::Backward)
    return fail(Status::error("this is not a backward kernel: compile one with kernel = "
                              "\"bwd-sm80-mma\""),
                error, error_size);
  BackwardArgs a;
  if (Status s = toBackwardArgs(*args, a); !s)
    return fail(s, error, error_size);
  *bytes = backwardWorkspaceBytes(a, kernel->kernel.info());
  return 0;
}

extern "C" int sieve_kernel_launch_backward(const sieve_kernel *kernel,
                                            const sieve_backward_args *args, void *stream,
                                            char *error, size_t error_size) {
  if (!kernel || !args)
    return fail(Status::error(kernel ? "args is null" : "kernel is null"), error, error_size);
  BackwardArgs a;
  if (Status s = toBackwardArgs(*args, a); !s)
    return fail(s, error, error_size);
  return fail(kernel->kernel.launchBackward(a, stream), error, error_size);
}

extern "C" void sieve_kernel_destroy(sieve_kernel *kernel) { delete kernel; }

extern "C" int sieve_device_alloc(size_t bytes, void **ptr, char *error, size_t error_size) {
  return fail(deviceAlloc(bytes, ptr), error, error_size);
}

extern "C" int sieve_device_free(void *ptr, char *error, size_t error_size) {
  return fail(deviceFree(ptr), error, error_size);
}

extern "C" int sieve_copy_to_device(void *dst, const void *src, size_t bytes, char *error,
                                    size_t error_size) {
  return fail(copyToDevice(dst, src, bytes), error, error_size);
}

extern "C" int sieve_copy_to_host(void *dst, const void *src, size_t bytes, char *error,
                                  size_t error_size) {
  return fail(copyToHost(dst, src, bytes), error, error_size);
}

extern "C" int sieve_device_synchronize(char *error, size_t error_size) {
  return fail(deviceSynchronize(), error, error_size);
}
