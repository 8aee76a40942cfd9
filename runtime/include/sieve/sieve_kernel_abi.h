/*===- sieve_kernel_abi.h - The host/device ABI of sieve's kernels --------===*
 *
 * Part of sieve's public API. One declaration of what crosses between the
 * host and a generated kernel: each operation's parameter struct (passed by
 * value as the kernel's only argument) and the launch information every
 * module carries. The runtime compiles this header; code generation embeds it
 * verbatim in every kernel source, so the two cannot disagree. Plain C with
 * no includes (NVRTC compiles kernels without headers).
 *
 * A module holds:
 *   - `__constant__ sieve_launch_info sieve_launch`: how to launch it
 *     (read with cuModuleGetGlobal by SIEVE_LAUNCH_SYMBOL);
 *   - the entry point of its operation (SIEVE_FWD_ENTRY for forward).
 * The runtime rejects a module whose abi_version is not
 * SIEVE_KERNEL_ABI_VERSION. Bump the version whenever a struct here changes.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SIEVE_KERNEL_ABI_H
#define SIEVE_KERNEL_ABI_H

#define SIEVE_KERNEL_ABI_VERSION 2

#define SIEVE_LAUNCH_SYMBOL "sieve_launch"
#define SIEVE_FWD_ENTRY "sieve_attention_fwd"

/* sieve_launch_info.operation */
#define SIEVE_ABI_OP_FORWARD 1

/* sieve_launch_info.dtype: the element type of q, k, v and o */
#define SIEVE_ABI_BF16 0
#define SIEVE_ABI_FP16 1

/* sieve_launch_info.kv_layout */
#define SIEVE_ABI_KV_DENSE 0

/* How to launch a module's kernel: grid x = ceil(q_len / tile_q) query
 * tiles, y = heads, z = batch; `threads` threads; `shared_bytes` of dynamic
 * shared memory (above 48 KiB the maximum must be raised first). */
typedef struct sieve_launch_info {
  int abi_version; /* first, so any version can read it */
  int operation;
  int kv_layout;
  int dtype;
  int head_dim;
  int tile_q, tile_k;
  int threads;
  int shared_bytes;
} sieve_launch_info;

/* The forward kernel's argument. Tensors are [batch, heads, length,
 * head_dim] with the last dimension contiguous; strides are in elements
 * (batch, head, row). lse is float32 [batch, heads, q_len], contiguous, or
 * null. Query i sits at absolute position k_len - q_len + i. */
typedef struct sieve_fwd_params {
  const void *q, *k, *v;
  void *o;
  float *lse;
  int batch, heads, kv_heads, q_len, k_len;
  float scale; /* softmax scale, e.g. 1 / sqrt(head_dim) */
  long long q_stride_b, q_stride_h, q_stride_r;
  long long k_stride_b, k_stride_h, k_stride_r;
  long long v_stride_b, v_stride_h, v_stride_r;
  long long o_stride_b, o_stride_h, o_stride_r;
} sieve_fwd_params;

#endif /* SIEVE_KERNEL_ABI_H */
