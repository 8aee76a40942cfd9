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
  const char *kernel;  /* a variant from `sieve list --kernels`; NULL: sieve's choice */
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

SIEVE_API_END

#ifdef __cplusplus
}
#endif

#endif /* SIEVE_RUNTIME_SIEVE_C_H */
