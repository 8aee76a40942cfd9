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
 *   - the entry points of its operation: SIEVE_FWD_ENTRY for forward;
 *     SIEVE_DECODE_ENTRY and SIEVE_COMBINE_ENTRY for decode; the four
 *     SIEVE_BWD_*_ENTRY for backward.
 * The runtime rejects a module whose abi_version is not
 * SIEVE_KERNEL_ABI_VERSION. Bump the version whenever a struct here changes.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SIEVE_KERNEL_ABI_H
#define SIEVE_KERNEL_ABI_H

#define SIEVE_KERNEL_ABI_VERSION 8

#define SIEVE_LAUNCH_SYMBOL "sieve_launch"
#define SIEVE_FWD_ENTRY "sieve_attention_fwd"
#define SIEVE_DECODE_ENTRY "sieve_attention_decode"
#define SIEVE_COMBINE_ENTRY "sieve_attention_combine"
#define SIEVE_BWD_PRE_ENTRY "sieve_attention_bwd_pre"
#define SIEVE_BWD_ENTRY "sieve_attention_bwd"
#define SIEVE_BWD_POST_ENTRY "sieve_attention_bwd_post"
#define SIEVE_BWD_DQ_ENTRY "sieve_attention_bwd_dq"

/* sieve_launch_info.operation */
#define SIEVE_ABI_OP_FORWARD 1
#define SIEVE_ABI_OP_DECODE 2
#define SIEVE_ABI_OP_BACKWARD 3

/* sieve_launch_info.dtype: the element type of q, k, v and o */
#define SIEVE_ABI_BF16 0
#define SIEVE_ABI_FP16 1

/* sieve_launch_info.kv_layout */
#define SIEVE_ABI_KV_DENSE 0
#define SIEVE_ABI_KV_PAGED 1

/* How to launch a module's kernel; `threads` threads and `shared_bytes` of
 * dynamic shared memory (above 48 KiB the maximum must be raised first).
 *   forward: grid x = ceil(q_len / tile_q) query tiles, y = heads, z = batch.
 *   decode:  grid x = splits * ceil(q_len * (heads / kv_heads) / tile_q),
 *            y = kv_heads, z = batch; tile_q counts packed rows (query i of
 *            head j of a KV group is row i * group + j). With splits > 1,
 *            the combine entry follows on the same stream: grid x =
 *            ceil(batch * q_len * heads / (combine_threads / 32)) blocks of
 *            combine_threads, no shared memory.
 *   backward: four entries on one stream:
 *            pre  grid (q_pad / tile_q, heads, batch), no shared memory;
 *            bwd  grid (ceil(k_len / tile_k), kv_heads, batch), shared_bytes;
 *            then, with dq_accum, post (grid as pre, no shared memory), or
 *            without it (deterministic), dq (grid as pre, aux_shared_bytes).
 *            bwd has `threads` threads; pre, post and dq have aux_threads
 *            (`threads` where aux_threads is 0). A module with head_split
 *            = 1 may get sieve_bwd_params.head_split = S > 1 (S divides the
 *            group heads / kv_heads): bwd's grid y is then kv_heads * S,
 *            CTA y taking KV head y / S and the group's (y % S)-th share of
 *            its query heads, adding its fp32 dK and dV into dkv_accum
 *            (pre zeroes it, post converts it into dk and dv).
 * A forward entry with tensor_maps = 3 takes, after its sieve_fwd_params,
 * three 128-byte CUtensorMaps (q, k, v) that the runtime encodes per launch:
 * rank 4 {head_dim, rows, heads, batch}, boxes of {64, tile_q} for q and
 * {64, tile_k} for k and v, 128-byte swizzle, zero fill. */
typedef struct sieve_launch_info {
  int abi_version; /* first, so any version can read it */
  int operation;
  int kv_layout;
  int dtype;
  int head_dim;
  int tile_q, tile_k;
  int threads;
  int shared_bytes;
  int combine_threads; /* decode: the combine's block size; else 0 */
  int aux_shared_bytes; /* backward: the dq entry's shared memory; else 0 */
  int tensor_maps;      /* forward: TMA tensor maps after the params (0 or 3) */
  int aux_threads;      /* backward: pre, post and dq's block size (0: threads) */
  int head_split;       /* backward: 1 if bwd takes sieve_bwd_params.head_split > 1 */
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

/* The decode kernel's argument: any number of queries per sequence (it is
 * built for 1-64), variable-length batches, dense or paged KV, split-KV.
 *
 * Sequence b has q_len_b queries and k_len_b keys; query i sits at position
 * k_len_b - q_len_b + i (end-aligned, so a chunk of a longer prefill is a
 * query range at an offset). q_len and k_len are the maxima:
 *   q_len_b = cu_seqlens_q ? cu_seqlens_q[b + 1] - cu_seqlens_q[b] : q_len
 *   k_len_b = seqlens_k ? seqlens_k[b]
 *           : cu_seqlens_k ? cu_seqlens_k[b + 1] - cu_seqlens_k[b] : k_len
 * (device int32 arrays; lengths are clamped to the maxima, and a sequence
 * with more queries than keys computes only its first k_len_b queries).
 *
 * Rows of q and o: query i of sequence b, head h is at
 *   (cu_seqlens_q ? (cu_seqlens_q[b] + i) * s_r : b * s_b + i * s_r) + h * s_h
 * elements (s = the q or o strides), so [batch, heads, q_len, d],
 * [batch, q_len, heads, d] and packed [total_q, heads, d] all fit.
 * lse, when not null, is float32 [total_q, heads]: row (cu_seqlens_q ?
 * cu_seqlens_q[b] + i : b * q_len + i) * heads + h.
 *
 * Dense KV (kv_layout SIEVE_ABI_KV_DENSE): key r of sequence b, KV head g at
 *   (cu_seqlens_k ? (cu_seqlens_k[b] + r) * s_r : b * s_b + r * s_r) + g * s_h.
 * Paged KV (SIEVE_ABI_KV_PAGED): k and v are [num_pages, page_size,
 * kv_heads, d] with s_b the page stride and s_r the slot stride; key r of
 * sequence b is slot r % page_size of page block_table[b * max_pages +
 * r / page_size]. An entry outside [0, num_pages) reads as zeros.
 *
 * splits: the most CTAs one row tile's keys are split over. A CTA takes a
 * contiguous share of the walk's tiles, at least a few each, so short
 * sequences use fewer splits; each writes partial_o (float32 [splits,
 * batch * q_len, heads, d], normalised) and partial_lse (float32 [splits,
 * batch * q_len, heads]); unused splits write lse = -inf. The combine merges
 * them into o and lse. With splits == 1 the partials are unused and the
 * decode entry writes o and lse itself.
 *
 * tickets (splits > 1, optional): uint32 [batch, kv_heads, row tiles], zero
 * before the launch. Non-null fuses the combine: each split CTA of a row
 * tile increments its ticket after writing its partials, and the last one
 * merges the tile's rows (the combine entry is not launched); the last also
 * returns the ticket to 0, so the array stays zeroed between launches. */
typedef struct sieve_decode_params {
  const void *q, *k, *v;
  void *o;
  float *lse;
  float *partial_o, *partial_lse;
  unsigned *tickets;
  const int *cu_seqlens_q, *cu_seqlens_k, *seqlens_k, *block_table;
  int batch, heads, kv_heads, q_len, k_len;
  int splits, page_size, max_pages, num_pages;
  float scale;
  long long q_stride_b, q_stride_h, q_stride_r;
  long long k_stride_b, k_stride_h, k_stride_r;
  long long v_stride_b, v_stride_h, v_stride_r;
  long long o_stride_b, o_stride_h, o_stride_r;
} sieve_decode_params;

/* The backward kernels' argument. q, k, v, o, dout and the gradients are
 * [batch, heads, length, head_dim] tensors like the forward's (dq, dout and
 * o with `heads` heads, dk and dv with kv_heads), strides in elements; lse
 * is the forward's float32 [batch, heads, q_len]. Query i sits at position
 * k_len - q_len + i.
 *
 * Workspace (float32, q_pad = q_len rounded up to tile_q):
 *   lse2, delta: [batch, heads, q_pad]: the pre entry writes lse * log2(e)
 *     (+inf for rows that attend nothing and for padding, so their P is 0)
 *     and D = rowsum(dO * O);
 *   dq_accum: [batch, heads, q_pad, head_dim]: the pre entry zeroes it, the
 *     bwd entry adds dS K to it with atomics, the post entry writes
 *     dq = scale * dq_accum. Null selects the deterministic mode: bwd computes
 *     dk and dv only and the dq entry recomputes dS along the forward walk.
 * dk and dv of a KV head are summed over its query heads inside one CTA. */
typedef struct sieve_bwd_params {
  const void *q, *k, *v, *o, *dout;
  const float *lse;
  void *dq, *dk, *dv;
  float *lse2, *delta, *dq_accum;
  /* With head_split > 1: fp32 dK then dV, each [batch, kv_heads, k_pad,
   * head_dim] (k_pad: k_len rounded up to tile_k), in the kernel's own row
   * layout; else null. */
  float *dkv_accum;
  int batch, heads, kv_heads, q_len, k_len, q_pad, k_pad;
  int head_split; /* 1, or the number of CTAs sharing a KV head's query heads */
  float scale;
  long long q_stride_b, q_stride_h, q_stride_r;
  long long k_stride_b, k_stride_h, k_stride_r;
  long long v_stride_b, v_stride_h, v_stride_r;
  long long o_stride_b, o_stride_h, o_stride_r;
  long long do_stride_b, do_stride_h, do_stride_r;
  long long dq_stride_b, dq_stride_h, dq_stride_r;
  long long dk_stride_b, dk_stride_h, dk_stride_r;
  long long dv_stride_b, dv_stride_h, dv_stride_r;
} sieve_bwd_params;

#endif /* SIEVE_KERNEL_ABI_H */
