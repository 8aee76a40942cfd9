/*===- sieve_c.h - sieve's C API ------------------------------------------===*
 *
 * For languages other than C++. Every function returns 0 on success and
 * non-zero on failure, with a message written to `error` (at most
 * `error_size` bytes, always NUL-terminated) when `error` is not null.
 * Warnings that do not stop a compile (a pattern that attends nothing, a
 * kernel cache that cannot be used) are printed to stderr as
 * "sieve: warning: ...". A sieve_dtype other than SIEVE_BF16 and SIEVE_FP16
 * is an error.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SIEVE_RUNTIME_SIEVE_C_H
#define SIEVE_RUNTIME_SIEVE_C_H

#include "sieve/sieve_export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

SIEVE_API_BEGIN

typedef struct sieve_kernel sieve_kernel;

typedef enum { SIEVE_BF16 = 0, SIEVE_FP16 = 1 } sieve_dtype;

/* One forward launch: tensors [batch, heads, length, head_dim], last
 * dimension contiguous, strides in elements (batch, head, row). */
typedef struct {
  const void *q, *k, *v;
  void *o;
  float *lse; /* [batch, heads, q_len] or NULL */
  int batch, heads, kv_heads, q_len, k_len, head_dim;
  sieve_dtype dtype;
  int64_t q_stride[3], k_stride[3], v_stride[3], o_stride[3];
  float scale; /* 0: 1 / sqrt(head_dim) */
} sieve_attention_args;

const char *sieve_version(void);

/* How to compile: what sieve_kernel_create and sieve_compile_cubin take as
 * separate arguments, plus the kernel variant. Zero-initialised fields mean
 * the defaults. */
typedef struct {
  int head_dim;        /* 64 or 128; 0: 128 */
  sieve_dtype dtype;   /* SIEVE_BF16 (0) or SIEVE_FP16 (1) */
  const char *arch;    /* "sm_90a", ...; NULL: the current device's */
  const char *kernel;  /* a variant from `sieve list --kernels`, or "forward",
                        * "decode", "decode-paged" or "backward": sieve's choice
                        * for that operation; NULL: sieve's choice of forward */
} sieve_compile_options;

/* Compiles `spec` ("builtin:NAME", a .json/.mlir path or JSON text) for
 * `arch` (NULL: the current device) and loads it on the current device. */
int sieve_kernel_create(const char *spec, int head_dim, sieve_dtype dtype, const char *arch,
                        sieve_kernel **kernel, char *error, size_t error_size);

/* Compiles without loading: writes the cubin size to *size and, when
 * `cubin` is not null and *size was large enough, the cubin. */
int sieve_compile_cubin(const char *spec, int head_dim, sieve_dtype dtype, const char *arch,
                        void *cubin, size_t *size, char *error, size_t error_size);

/* The same two calls with every compile option (options may be NULL: the
 * defaults). */
int sieve_kernel_create_with_options(const char *spec, const sieve_compile_options *options,
                                     sieve_kernel **kernel, char *error, size_t error_size);
int sieve_compile_cubin_with_options(const char *spec, const sieve_compile_options *options,
                                     void *cubin, size_t *size, char *error, size_t error_size);

/* Fills contiguous strides from the sizes in `args`. */
void sieve_set_contiguous_strides(sieve_attention_args *args);

/* Validates and launches on `stream` (a CUstream; NULL: the default). */
int sieve_kernel_launch(const sieve_kernel *kernel, const sieve_attention_args *args,
                        void *stream, char *error, size_t error_size);

/* One decode launch of a decode kernel (compile with options.kernel =
 * "decode-sm80-mma" or "decode-sm80-mma-paged"): variable-length batches,
 * dense or paged KV, split-KV. Fields as sieve::DecodeArgs
 * (sieve/Attention.h); the exact addressing is sieve_decode_params in
 * sieve/sieve_kernel_abi.h and docs/decode.md. Arrays are on the device. */
typedef struct {
  const void *q, *k, *v;
  void *o;
  float *lse;                   /* [total_q, heads] or NULL */
  const int32_t *cu_seqlens_q;  /* [batch + 1] or NULL: q_len each */
  const int32_t *cu_seqlens_k;  /* dense KV: [batch + 1] or NULL */
  const int32_t *seqlens_k;     /* [batch] or NULL: k_len each */
  const int32_t *block_table;   /* paged KV: [batch, max_pages] */
  int batch, heads, kv_heads, q_len, k_len, head_dim; /* q_len, k_len: maxima */
  sieve_dtype dtype;
  int64_t total_q, total_k;     /* rows of packed q/o and K/V (with cu_seqlens_*) */
  int page_size, max_pages, num_pages;
  int splits;                   /* 0: chosen for the device; 1: no combine */
  void *workspace;              /* splits > 1: sieve_kernel_decode_workspace bytes */
  size_t workspace_bytes;
  int64_t q_stride[3], k_stride[3], v_stride[3], o_stride[3]; /* paged K/V: page, head, slot */
  float scale;                  /* 0: 1 / sqrt(head_dim) */
  /* The fused combine (sieve::DecodeArgs::tickets): sieve_kernel_decode_tickets
   * counters, zeroed once, left zero by every launch; NULL: the combine
   * kernel. combine: SIEVE_COMBINE_AUTO (fused for up to one row per warp
   * when tickets are given), _KERNEL or _FUSED. */
  uint32_t *tickets;
  int64_t ticket_count;
  int combine;
} sieve_decode_args;

enum { SIEVE_COMBINE_AUTO = 0, SIEVE_COMBINE_KERNEL = 1, SIEVE_COMBINE_FUSED = 2 };

/* The tickets (32-bit counters) the fused combine of a launch of `args`
 * needs: batch x kv_heads x row tiles. */
int sieve_kernel_decode_tickets(const sieve_kernel *kernel, const sieve_decode_args *args,
                                int64_t *count, char *error, size_t error_size);

/* Fills contiguous strides: q, o [batch or total, q_len, heads, head_dim];
 * K, V [batch, k_len, kv_heads, head_dim], or with a block table
 * [num_pages, page_size, kv_heads, head_dim]. */
void sieve_set_decode_strides(sieve_decode_args *args);

/* The split count a launch of `args` uses on the current device and the
 * workspace bytes it needs (0 for one split). */
int sieve_kernel_decode_workspace(const sieve_kernel *kernel, const sieve_decode_args *args,
                                  int *splits, size_t *bytes, char *error, size_t error_size);

/* Validates and launches the decode kernel (and the combine when splits >
 * 1) on `stream`; allocates nothing and does not synchronise. */
int sieve_kernel_launch_decode(const sieve_kernel *kernel, const sieve_decode_args *args,
                               void *stream, char *error, size_t error_size);

/* One backward launch of a backward kernel (compile with options.kernel =
 * "bwd-sm80-mma"): dq, dk, dv from q, k, v, the forward's o and lse
 * ([batch, heads, q_len] float32) and dO. Tensors are [batch, heads,
 * length, head_dim] like sieve_attention_args'; fields as
 * sieve::BackwardArgs (sieve/Attention.h). */
typedef struct {
  const void *q, *k, *v, *o, *d_o;
  const float *lse;
  void *dq, *dk, *dv;
  int batch, heads, kv_heads, q_len, k_len, head_dim;
  sieve_dtype dtype;
  int64_t q_stride[3], k_stride[3], v_stride[3], o_stride[3];
  int64_t do_stride[3], dq_stride[3], dk_stride[3], dv_stride[3];
  float scale;                  /* 0: 1 / sqrt(head_dim) */
  int deterministic;            /* non-zero: no atomics, the same bits every run */
  int head_split;               /* GQA: CTAs sharing a KV group (0: sieve's choice, 1: none) */
  void *workspace;              /* sieve_kernel_backward_workspace bytes, 16-byte aligned */
  size_t workspace_bytes;
} sieve_backward_args;

/* Fills contiguous strides from the sizes in `args`. */
void sieve_set_backward_strides(sieve_backward_args *args);

/* The workspace bytes a backward launch of `args` needs. */
int sieve_kernel_backward_workspace(const sieve_kernel *kernel, const sieve_backward_args *args,
                                    size_t *bytes, char *error, size_t error_size);

/* Validates and launches the backward kernels on `stream`; allocates
 * nothing and does not synchronise. */
int sieve_kernel_launch_backward(const sieve_kernel *kernel, const sieve_backward_args *args,
                                 void *stream, char *error, size_t error_size);

void sieve_kernel_destroy(sieve_kernel *kernel);

/* Device memory for applications without their own CUDA memory management,
 * in the calling thread's current context (device 0's primary context, made
 * current, when the thread has none), where sieve launches its kernels. Each returns 0 or 1 with a message in `error`;
 * sieve_device_alloc sets *ptr to NULL when it fails. */
int sieve_device_alloc(size_t bytes, void **ptr, char *error, size_t error_size);
int sieve_device_free(void *ptr, char *error, size_t error_size);
int sieve_copy_to_device(void *dst, const void *src, size_t bytes, char *error,
                         size_t error_size);
int sieve_copy_to_host(void *dst, const void *src, size_t bytes, char *error,
                       size_t error_size);
int sieve_device_synchronize(char *error, size_t error_size);

/*===--- Results sieve allocates, compiling, inspecting -------------------===*
 *
 * What the Python package (and any other binding) needs besides launching.
 * A result of variable size is returned in memory that sieve allocates;
 * release it with sieve_free. JSON results are UTF-8 text, NUL-terminated.
 *===----------------------------------------------------------------------===*/

/* Releases memory that sieve allocated for a result (NULL: nothing). */
void sieve_free(void *ptr);

/* Compiles like sieve_compile_cubin_with_options and returns the cubin in
 * *cubin (*size bytes) and, when `info` is not NULL, a JSON object about it
 * in *info: {"pattern", "arch", "kernel", "tile_q", "tile_k", "head_dim",
 * "dtype", "from": "memory" | "disk" | "compiled", "source": the CUDA
 * source, "warnings": [...]}. With `info`, warnings are reported there and
 * not printed. On failure *cubin and *info are NULL. */
int sieve_compile(const char *spec, const sieve_compile_options *options, void **cubin,
                  size_t *size, char **info, char *error, size_t error_size);

/* Loads a cubin made by sieve (sieve_compile, `sieve compile --emit cubin`)
 * into the current context. */
int sieve_kernel_load(const void *cubin, size_t size, sieve_kernel **kernel, char *error,
                      size_t error_size);

/* The built-in patterns, as `sieve list --json` prints them: an array of
 * {"name", "description", "block_size" (the default), "params": [{"name",
 * "description", "default", "list", "min", "max"}]}. */
int sieve_builtins_json(char **json, char *error, size_t error_size);

/* The kernel variants, as `sieve list --kernels --json` prints them: an
 * array of {"name", "operation", "kv_layout", "summary", "needs",
 * "verified"}. */
int sieve_kernel_variants_json(char **json, char *error, size_t error_size);

/* What `sieve inspect` analyses. Zero fields take the defaults. */
typedef struct {
  int64_t seq_len; /* tokens, 1 .. 2^24 (required) */
  int layers;      /* coverage entries; 0: 12 */
  int tile_q;      /* kernel tile along queries; 0: 128 */
  int tile_k;      /* along keys; 0: 128 */
  int head_dim;    /* for FLOP counts; 0: 128 */
} sieve_inspect_options;

/* The object `sieve inspect SPEC --json` prints (docs/plans-and-inspect.md). */
int sieve_inspect_json(const char *spec, const sieve_inspect_options *options, char **json,
                       char *error, size_t error_size);

/* A spec's pattern: {"name", "block_size": [block_q, block_k], "key": as
 * sieve_spec_key, "mlir": the pattern in the sieve dialect}. */
int sieve_spec_json(const char *spec, char **json, char *error, size_t error_size);

/* The canonical key of a spec, 64 hex digits and a NUL in `key`: the
 * SHA-256 of its pattern's canonical form (after sieve-canonicalize), the
 * pattern's part of the kernel cache key. Specs that canonicalize to the
 * same pattern have the same key. */
int sieve_spec_key(const char *spec, char key[65], char *error, size_t error_size);

/* The reference mask from the reference evaluator: mask[i * kv_len + j] is
 * 1 when query i attends key j, else 0, for q_len queries aligned to the
 * end of kv_len keys (query i at position kv_len - q_len + i), as the
 * kernels apply it. `mask` holds q_len * kv_len bytes; 0 <= q_len <= kv_len. */
int sieve_reference_mask(const char *spec, int64_t q_len, int64_t kv_len, uint8_t *mask,
                         char *error, size_t error_size);

/* A GPU, and the target sieve compiles for on it. */
typedef struct {
  char name[256];
  int ordinal;
  int major, minor; /* compute capability */
  int multiprocessors;
  char target[16]; /* "sm_90a" on Hopper, "sm_XY" elsewhere */
} sieve_device_info;

/* Describes device `ordinal`; an error when there is no driver or GPU. */
int sieve_query_device(int ordinal, sieve_device_info *info, char *error, size_t error_size);

/* Describes the device of the calling thread's current context (device 0's
 * primary context, made current, when it has none). */
int sieve_current_device(sieve_device_info *info, char *error, size_t error_size);

/* The target a compile for `arch` builds for (NULL: sieve's choice, the
 * current device's, sm_90a without a GPU), in `target` (16 bytes are
 * enough), and in `how` (when not NULL) why: "--arch", "device NAME" or
 * "no GPU: default". */
int sieve_resolve_target(const char *arch, char *target, size_t target_size, char *how,
                         size_t how_size, char *error, size_t error_size);

SIEVE_API_END

#ifdef __cplusplus
}
#endif

#endif /* SIEVE_RUNTIME_SIEVE_C_H */
