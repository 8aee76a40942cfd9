//===- SieveBwdSm80.cuh - Sparse attention backward, mma.sync ---*- CUDA -*-===//
//
// The backward pass for sm_80 and newer, FlashAttention-2's structure on the
// pattern's walks (sieve_kernel_abi.h, sieve_bwd_params, has the launch):
//
//   pre   per query tile: D = rowsum(dO * O), lse2 = lse * log2(e) (+inf
//         where a row attends nothing, so its P is 0), dq_accum = 0;
//   bwd   per key tile of a KV head: the compiler's transposed walk yields
//         the query tiles that attend it, with exact full/partial tags, for
//         each query head of the group in turn; dK and dV stay in registers;
//         dQ += dS K goes to dq_accum through fp32 atomics;
//   post  dq = scale * dq_accum;
//   dq    (deterministic mode, instead of the atomics and post) per query
//         tile: the forward walk again, recomputing P and dS, dQ in registers.
//
// With S^T = K Q^T (scaled by `scale`), P^T = exp(S^T - lse), dP^T = V dO^T
// and dS^T = P^T (dP^T - D):  dV += P^T dO,  dK += scale dS^T Q,
// dQ += scale dS K.
//
// Each of the 4 warps owns 16 rows: key rows in bwd, query rows in dq, so a
// tile is 64 x 64 both ways. In bwd, dS^T goes through shared memory as the
// A operand of dQ (read with ldmatrix.trans). Key tiles run in index order:
// with end-aligned queries, low key tiles are attended by the most query
// tiles (every causal pattern; PowerAttention's sink column is tile 0), so
// the longest CTAs start first.
//
// Verified on an H200 (sm_90a) against the CPU reference gradients with
// bench/gpu/check_backward.sh (docs/performance.md); sm_80-sm_89 compiled
// with 0 spills but not run.
//
// Cfg (generated): Elem, kHeadDim (64 | 128), kTileQ = kTileK = 16 * kWarps,
// kWarps = 4, kStages = 2. Pattern (generated): mask, Rules<true/false>.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_BWD_SM80_CUH
#define SIEVE_KERNELS_BWD_SM80_CUH

namespace sieve::dev {

/// *p += v in global memory, no return value (fp32 reduction).
__device__ __forceinline__ void red_add(float *p, float v) {
  asm volatile("red.global.add.f32 [%0], %1;\n" ::"l"(p), "f"(v) : "memory");
}

/// Adds a warp's 16 x 32 fp32 tile (the mma accumulator layout, four n8
/// blocks, SieveSoftmax.cuh) to global memory at g: row (lane >> 2) + 8 h,
/// column (lane & 3) * 2 of block 0 is g[h * 8 * ld]. On sm_90 and newer,
/// lane pairs trade halves so each holds four consecutive columns of one row
/// (the even lane row g, the odd row g + 8) for one vector reduction; before,
/// one reduction per element (SIEVE_BWD_SCALAR_RED, an NVRTC -D, forces that
/// everywhere, for measuring the difference).
__device__ __forceinline__ void red_add_tile(float *g, long long ld, const float (&acc)[16],
                                             int lane) {
#pragma unroll
  for (int nb = 0; nb < 4; ++nb) {
    const float *c = &acc[nb * 4];
#if __CUDA_ARCH__ >= 900 && !defined(SIEVE_BWD_SCALAR_RED)
    const bool odd = lane & 1;
    const float x = shfl_xor(odd ? c[0] : c[2], 1), y = shfl_xor(odd ? c[1] : c[3], 1);
    float *p = odd ? g + nb * 8 + 8 * ld - 2 : g + nb * 8;
    const float v0 = odd ? x : c[0], v1 = odd ? y : c[1], v2 = odd ? c[2] : x, v3 = odd ? c[3] : y;
    asm volatile("red.global.add.v4.f32 [%0], {%1, %2, %3, %4};\n" ::"l"(p), "f"(v0), "f"(v1),
                 "f"(v2), "f"(v3)
                 : "memory");
#else
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      red_add(g + nb * 8 + h * 8 * ld, c[h * 2]);
      red_add(g + nb * 8 + h * 8 * ld + 1, c[h * 2 + 1]);
    }
#endif
  }
}

template <class Cfg, class Pattern>
struct BwdSm80 {
  using Elem = typename Cfg::Elem;
  using Fwd = FwdSm80<Cfg, Pattern, DenseKv>;  // its tile loader
  static constexpr int kD = Cfg::kHeadDim;
  static constexpr int kTQ = Cfg::kTileQ;
  static constexpr int kTK = Cfg::kTileK;
  static constexpr int kWarps = Cfg::kWarps;
  static constexpr int kStages = Cfg::kStages;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kMinBlocks = 1;
  static constexpr int kAuxThreads = kThreads;  // pre, post, dq
  static constexpr int kChunks = kD / 8;      // 16-byte chunks of a row
  static constexpr int kSChunks = kTQ / 8;    // of a dS^T row
  static constexpr int kRowBytes = kD * 2;
  static constexpr int kQBytes = kTQ * kRowBytes, kKBytes = kTK * kRowBytes;
  static constexpr int kVecBytes = kTQ * 4;   // lse2 or D of one query tile
  // bwd: K, V; per stage Q, dO, lse2 and D; dS^T.
  static constexpr int kStageBytes = 2 * kQBytes + 2 * kVecBytes;
  static constexpr int kSmemBytes = 2 * kKBytes + kStages * kStageBytes + kTK * kTQ * 2;
  // dq: Q and dO; per stage K and V.
  static constexpr int kDqSmemBytes = 2 * kQBytes + kStages * 2 * kKBytes;

  static_assert(kD == 64 || kD == 128, "head dim must be 64 or 128");
  static_assert(kTQ == 16 * kWarps && kTK == 16 * kWarps, "tiles are 16 rows per warp both ways");
  static_assert(kStages == 2, "one tile in flight while one is used");

  static constexpr sieve_launch_info launch_info() {
    return {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_BACKWARD, SIEVE_ABI_KV_DENSE, Elem::kAbi, kD,
            kTQ, kTK, kThreads, kSmemBytes, 0, kDqSmemBytes};
  }

  static constexpr int kHalf = kTQ / 2;
  typedef float Half[kHalf / 2];  // a warp's 16 x 32 scores (SieveSoftmax.cuh layout)
  typedef float Acc[kD / 2];     // a warp's 16 x kD accumulator

  /// Per-lane ldmatrix byte offsets, as in FwdSm80::Warp: `b` for the B
  /// operand of a K-contiguous tile (rows (lane & 7) + (lane >> 4) * 8), `a`
  /// for the A operand and for the transposed B operand (rows (lane & 7) +
  /// ((lane >> 3) & 1) * 8).
  struct Lanes {
    u32 a[4], b[4];
    __device__ __forceinline__ explicit Lanes(int lane) {
      const int x = lane & 7;
      const int rb = x + (lane >> 4) * 8, cb = (lane >> 3) & 1;
      const int ra = x + ((lane >> 3) & 1) * 8, ca = lane >> 4;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        b[j] = (u32)((rb * kChunks + ((2 * j + cb) ^ x)) * 16);
        a[j] = (u32)((ra * kChunks + ((2 * j + ca) ^ x)) * 16);
      }
    }
  };

  /// acc = A B^T for 16 rows of A at sa against N rows of B at sb, both
  /// [rows][kD] swizzled tiles.
  template <int N>
  static __device__ __forceinline__ void gemm_nt(float (&acc)[N / 2], u32 sa, u32 sb,
                                                 const Lanes &l) {
#pragma unroll
    for (int i = 0; i < N / 2; ++i) acc[i] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      u32 a[4];
      sm80::ldsm_x4(a, sa + l.a[kk & 3] + (kk >> 2) * 128);
#pragma unroll
      for (int n2 = 0; n2 < N / 16; ++n2) {
        u32 b[4];
        sm80::ldsm_x4(b, sb + n2 * 16 * kChunks * 16 + l.b[kk & 3] + (kk >> 2) * 128);
        sm80::mma16816<Elem>(&acc[(2 * n2) * 4], a, b[0], b[1]);
        sm80::mma16816<Elem>(&acc[(2 * n2 + 1) * 4], a, b[2], b[3]);
      }
    }
  }

  /// acc += P B for a warp's 16 x N slice P (in registers) and the N rows of
  /// the [rows][kD] tile at sb.
  template <int N>
  static __device__ __forceinline__ void gemm_pb(Acc &acc, const float (&p)[N / 2], u32 sb,
                                                 const Lanes &l) {
#pragma unroll
    for (int kk = 0; kk < N / 16; ++kk) {
      u32 a[4];
      pack_a<Elem>(p, kk, a);
#pragma unroll
      for (int d2 = 0; d2 < kD / 16; ++d2) {
        u32 b[4];
        sm80::ldsm_x4_t(b, sb + kk * 16 * kChunks * 16 + l.a[d2 & 3] + (d2 >> 2) * 128);
        sm80::mma16816<Elem>(&acc[(2 * d2) * 4], a, b[0], b[1]);
        sm80::mma16816<Elem>(&acc[(2 * d2 + 1) * 4], a, b[2], b[3]);
      }
    }
  }

  /// Stores a warp's 16 accumulator rows (times `mul`) as elements: through
  /// its own 16 rows of the swizzled tile at `stage`, then 16-byte stores of
  /// the rows below `rows` to g (row r at g + r * stride).
  static __device__ __forceinline__ void store_rows(const Acc &acc, float mul,
                                                    unsigned char *stage, int wrow, u16 *g,
                                                    long long stride, int rows, int lane) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = wrow + (lane >> 2) + h * 8;
#pragma unroll
      for (int j = 0; j < kD / 8; ++j)
        *(u32 *)(stage + sm80::swz<kChunks>(r, j) + (lane & 3) * 4) =
            Elem::pack2(acc[j * 4 + h * 2] * mul, acc[j * 4 + h * 2 + 1] * mul);
    }
    __syncwarp();
#pragma unroll
    for (int i = 0; i < 16 * kChunks / 32; ++i) {
      const int c = lane + i * 32;
      const int r = wrow + c / kChunks, ch = c % kChunks;
      if (r < rows)
        *(u32x4 *)(g + (long long)r * stride + ch * 8) = *(const u32x4 *)(stage + sm80::swz<kChunks>(r, ch));
    }
  }

  /// The element mask on a transposed slice: rows are keys (kp0: the
  /// position of the thread's row h = 0), columns the query indices c0 + ...
  template <int N>
  static __device__ __forceinline__ void mask_keys(float (&s)[N], long long kp0, int c0,
                                                   const sieve_bwd_params &p, int lane) {
    const long long q_off = (long long)p.k_len - p.q_len;
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const long long kp = kp0 + h * 8;
#pragma unroll
      for (int j = 0; j < N / 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int c = c0 + j * 8 + (lane & 3) * 2 + e;
          if (!(kp < p.k_len && c < p.q_len && Pattern::mask(q_off + c, kp)))
            s[j * 4 + h * 2 + e] = neg_inf();
        }
    }
  }

  //===--------------------------------------------------------------------===//
  // pre and post: one CTA per query tile of a head
  //===--------------------------------------------------------------------===//

  static __device__ __forceinline__ void pre(const sieve_bwd_params &p) {
    const int t = blockIdx.x, h = blockIdx.y, b = blockIdx.z, tid = threadIdx.x;
    const long long bh = (long long)b * p.heads + h;
    const u16 *go = (const u16 *)p.o + b * p.o_stride_b + h * p.o_stride_h;
    const u16 *gd = (const u16 *)p.dout + b * p.do_stride_b + h * p.do_stride_h;
    constexpr int kRowsPerPass = kThreads / kChunks;
    const int ch = tid % kChunks;
#pragma unroll 1
    for (int r = t * kTQ + tid / kChunks; r < (t + 1) * kTQ; r += kRowsPerPass) {
      float sum = 0.f;
      if (r < p.q_len) {
        const u32x4 o = *(const u32x4 *)(go + (long long)r * p.o_stride_r + ch * 8);
        const u32x4 d = *(const u32x4 *)(gd + (long long)r * p.do_stride_r + ch * 8);
        const u32 ov[4] = {o.x, o.y, o.z, o.w}, dv[4] = {d.x, d.y, d.z, d.w};
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          float o0, o1, d0, d1;
          Elem::unpack2(ov[i], o0, o1);
          Elem::unpack2(dv[i], d0, d1);
          sum += o0 * d0 + o1 * d1;
        }
      }
#pragma unroll
      for (int m = 1; m < kChunks; m *= 2) sum += shfl_xor(sum, m);  // the row's kChunks lanes
      if (ch == 0) {
        const float lse = r < p.q_len ? p.lse[bh * p.q_len + r] : neg_inf();
        p.delta[bh * p.q_pad + r] = sum;
        p.lse2[bh * p.q_pad + r] = lse == neg_inf() ? __int_as_float(0x7f800000) : lse * kLog2e;
      }
      if (p.dq_accum) {
        u32x4 *acc = (u32x4 *)(p.dq_accum + (bh * p.q_pad + r) * kD + ch * 8);
        acc[0] = acc[1] = u32x4{0u, 0u, 0u, 0u};
      }
    }
  }

  static __device__ __forceinline__ void post(const sieve_bwd_params &p) {
    const int t = blockIdx.x, h = blockIdx.y, b = blockIdx.z, tid = threadIdx.x;
    const long long bh = (long long)b * p.heads + h;
    u16 *gq = (u16 *)p.dq + b * p.dq_stride_b + h * p.dq_stride_h;
    constexpr int kRowsPerPass = kThreads / kChunks;
    const int ch = tid % kChunks;
#pragma unroll 1
    for (int r = t * kTQ + tid / kChunks; r < (t + 1) * kTQ && r < p.q_len; r += kRowsPerPass) {
      const float *acc = p.dq_accum + (bh * p.q_pad + r) * kD + ch * 8;
      u32 out[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) out[i] = Elem::pack2(acc[2 * i] * p.scale, acc[2 * i + 1] * p.scale);
      *(u32x4 *)(gq + (long long)r * p.dq_stride_r + ch * 8) = u32x4{out[0], out[1], out[2], out[3]};
    }
  }

  //===--------------------------------------------------------------------===//
  // bwd: one CTA per key tile of a KV head
  //===--------------------------------------------------------------------===//

  static __device__ __forceinline__ void run(const sieve_bwd_params &p) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int kt = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
    const int group = p.heads / p.kv_heads;
    const int k0 = kt * kTK;  // first key row of this tile
    const long long q_off = (long long)p.k_len - p.q_len;
    const int wrow = warp * 16;  // this warp's key rows within the tile

    const u32 s_k = smem_addr(smem), s_v = s_k + kKBytes;
    const u32 s_stage = s_v + kKBytes;  // stage i: Q, dO, lse2, D
    const u32 s_ds = s_stage + kStages * kStageBytes;
    unsigned char *const stage_ptr = smem + 2 * kKBytes;

    // The query tiles of every head of the group (SieveBwdWalk.cuh).
    using Stream = BwdTileStream<Pattern, kTQ, kTK>;
    __shared__ __align__(8) unsigned char walk_buf[kWarps][sizeof(typename Stream::Walk)];
    Stream stream(p, reinterpret_cast<typename Stream::Walk *>(walk_buf[warp]), k0, q_off, kvh,
                  group, 0, group, lane);

    // Loads the stream's next (head, query tile) into stage `st`.
    int pend_head = -1, pend_tile = -1;
    bool pend_full = false;
    auto issue = [&](int st) {
      int head, t;
      bool f;
      if (stream.next(head, t, f)) {
        const u32 s_q = s_stage + st * kStageBytes, s_do = s_q + kQBytes;
        const u32 s_vec = s_do + kQBytes;
        const u16 *gq = (const u16 *)p.q + b * p.q_stride_b + head * p.q_stride_h;
        const u16 *gd = (const u16 *)p.dout + b * p.do_stride_b + head * p.do_stride_h;
        constexpr int kStep = kThreads / kChunks;
        Fwd::template load_tile<kTQ>(s_q, [&](int r) { return gq + (long long)r * p.q_stride_r; },
                                     (long long)kStep * p.q_stride_r, t * kTQ, p.q_len, tid);
        Fwd::template load_tile<kTQ>(s_do, [&](int r) { return gd + (long long)r * p.do_stride_r; },
                                     (long long)kStep * p.do_stride_r, t * kTQ, p.q_len, tid);
        if (tid < 2 * kVecBytes / 16) {  // lse2 then D, 16 bytes a thread
          const int c = tid % (kVecBytes / 16);
          const float *src = (tid < kVecBytes / 16 ? p.lse2 : p.delta) +
                             ((long long)b * p.heads + head) * p.q_pad + t * kTQ + c * 4;
          sm80::cp_async16(s_vec + (tid / (kVecBytes / 16)) * kVecBytes + c * 16, src, true);
        }
        pend_head = head, pend_tile = t, pend_full = f;
      } else {
        pend_head = -1;
      }
      sm80::cp_async_commit();
    };

    // K and V of this tile ride in group 0 with the first query tile.
    {
      const u16 *gk = (const u16 *)p.k + b * p.k_stride_b + kvh * p.k_stride_h;
      const u16 *gv = (const u16 *)p.v + b * p.v_stride_b + kvh * p.v_stride_h;
      constexpr int kStep = kThreads / kChunks;
      Fwd::template load_tile<kTK>(s_k, [&](int r) { return gk + (long long)r * p.k_stride_r; },
                                   (long long)kStep * p.k_stride_r, k0, p.k_len, tid);
      Fwd::template load_tile<kTK>(s_v, [&](int r) { return gv + (long long)r * p.v_stride_r; },
                                   (long long)kStep * p.v_stride_r, k0, p.k_len, tid);
    }
    issue(0);

    const Lanes l(lane);
    Acc dk, dv;
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) dk[i] = dv[i] = 0.f;
    const float sl2 = p.scale * kLog2e;
    const bool edge = k0 + kTK > p.k_len;
    // dS^T as dQ's A operand (ldmatrix.trans): rows are keys, chunks queries.
    const u32 ds_off = (u32)((((lane & 7) + ((lane >> 4) & 1) * 8) * kSChunks +
                              ((2 * warp + ((lane >> 3) & 1)) ^ (lane & 7))) * 16);

    int st = 0;
    for (;;) {
      const int head = pend_head, t = pend_tile;
      const bool full = pend_full;
      if (head < 0) break;
      sm80::cp_async_wait<0>();
      __syncthreads();  // the stage is visible; everyone is done with the other one and dS^T
      issue(st ^ 1);
      const u32 s_q = s_stage + st * kStageBytes, s_do = s_q + kQBytes;
      const f32x2 *lse2 = (const f32x2 *)(stage_ptr + st * kStageBytes + 2 * kQBytes);
      const f32x2 *dd = lse2 + kTQ / 2;

      // Half the query tile at a time (kHalf columns): S^T, P^T, dV, dP^T,
      // dS^T, dK, and dS^T into shared memory for dQ. Whole-tile slices
      // beside dK and dV would need ~30 registers more than there are.
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const u32 sq = s_q + half * kHalf * kRowBytes, sdo = s_do + half * kHalf * kRowBytes;
        Half s;
        gemm_nt<kHalf>(s, s_k + wrow * kRowBytes, sq, l);  // S^T, unscaled
        if (!full || edge) mask_keys(s, k0 + wrow + (lane >> 2), t * kTQ + half * kHalf, p, lane);
#pragma unroll
        for (int j = 0; j < kHalf / 8; ++j) {
          const f32x2 m = lse2[half * kHalf / 2 + j * 4 + (lane & 3)];
#pragma unroll
          for (int hh = 0; hh < 2; ++hh) {
            s[j * 4 + hh * 2] = ex2(s[j * 4 + hh * 2] * sl2 - m.x);
            s[j * 4 + hh * 2 + 1] = ex2(s[j * 4 + hh * 2 + 1] * sl2 - m.y);
          }
        }
        gemm_pb<kHalf>(dv, s, sdo, l);  // dV += P^T dO
        {
          Half dp;
          gemm_nt<kHalf>(dp, s_v + wrow * kRowBytes, sdo, l);  // dP^T = V dO^T
#pragma unroll
          for (int j = 0; j < kHalf / 8; ++j) {
            const f32x2 d = dd[half * kHalf / 2 + j * 4 + (lane & 3)];
#pragma unroll
            for (int hh = 0; hh < 2; ++hh) {  // dS^T = P^T (dP^T - D), in place of P
              s[j * 4 + hh * 2] *= dp[j * 4 + hh * 2] - d.x;
              s[j * 4 + hh * 2 + 1] *= dp[j * 4 + hh * 2 + 1] - d.y;
            }
          }
        }
        gemm_pb<kHalf>(dk, s, sq, l);  // dK += dS^T Q (scaled at the end)
        if (p.dq_accum) {
#pragma unroll
          for (int hh = 0; hh < 2; ++hh) {
            const int r = wrow + (lane >> 2) + hh * 8;
#pragma unroll
            for (int j = 0; j < kHalf / 8; ++j)
              *(u32 *)(smem + (s_ds - s_k) + sm80::swz<kSChunks>(r, half * kHalf / 8 + j) +
                       (lane & 3) * 4) = Elem::pack2(s[j * 4 + hh * 2], s[j * 4 + hh * 2 + 1]);
          }
        }
      }
      if (p.dq_accum) {
        // Each warp adds dS K for its 16 query rows.
        __syncthreads();
        float *gacc = p.dq_accum +
                      (((long long)b * p.heads + head) * p.q_pad + t * kTQ + wrow + (lane >> 2)) * kD +
                      (lane & 3) * 2;
#pragma unroll
        for (int dc = 0; dc < kD / 32; ++dc) {
          float acc[16];
#pragma unroll
          for (int i = 0; i < 16; ++i) acc[i] = 0.f;
#pragma unroll
          for (int kk = 0; kk < kTK / 16; ++kk) {
            u32 a[4];
            sm80::ldsm_x4_t(a, s_ds + kk * 16 * kSChunks * 16 + ds_off);
#pragma unroll
            for (int d2 = 0; d2 < 2; ++d2) {
              const int dd2 = dc * 2 + d2;
              u32 bk[4];
              sm80::ldsm_x4_t(bk, s_k + kk * 16 * kChunks * 16 + l.a[dd2 & 3] + (dd2 >> 2) * 128);
              sm80::mma16816<Elem>(&acc[(2 * d2) * 4], a, bk[0], bk[1]);
              sm80::mma16816<Elem>(&acc[(2 * d2 + 1) * 4], a, bk[2], bk[3]);
            }
          }
          red_add_tile(gacc + dc * 32, kD, acc, lane);
        }
      }
      st ^= 1;
    }
    sm80::cp_async_wait<0>();
    __syncthreads();  // every warp is done with K and V: stage dK and dV there

    const int rows = p.k_len - k0;
    u16 *gdk = (u16 *)p.dk + b * p.dk_stride_b + kvh * p.dk_stride_h + (long long)k0 * p.dk_stride_r;
    u16 *gdv = (u16 *)p.dv + b * p.dv_stride_b + kvh * p.dv_stride_h + (long long)k0 * p.dv_stride_r;
    store_rows(dk, p.scale, smem, wrow, gdk, p.dk_stride_r, rows, lane);
    store_rows(dv, 1.f, smem + kKBytes, wrow, gdv, p.dv_stride_r, rows, lane);
  }

  //===--------------------------------------------------------------------===//
  // dq (deterministic mode): one CTA per query tile of a head
  //===--------------------------------------------------------------------===//

  static __device__ __forceinline__ void run_dq(const sieve_bwd_params &p) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int qt = gridDim.x - 1 - blockIdx.x;  // later (longer) tiles first, like the forward
    const int h = blockIdx.y, b = blockIdx.z;
    const int kvh = h / (p.heads / p.kv_heads);
    const int q0 = qt * kTQ;
    const long long q_off = (long long)p.k_len - p.q_len;
    const int wrow = warp * 16;
    const long long bh = (long long)b * p.heads + h;

    const u32 s_q = smem_addr(smem), s_do = s_q + kQBytes;
    const u32 s_kv = s_do + kQBytes;  // stage i: K, V

    const long long qpos_begin = q_off + q0;
    const long long qpos_last = (qpos_begin + kTQ > p.k_len ? p.k_len : qpos_begin + kTQ) - 1;
    using Rules = typename Pattern::template Rules<false>;
    walk::TileWalk<Rules> tiles(
        Rules(walk::Rows::make(qpos_begin, qpos_last, Pattern::kBlockQ, Pattern::kBlockK, p.k_len)),
        0, kTK, p.k_len);
    const u16 *gk = (const u16 *)p.k + b * p.k_stride_b + kvh * p.k_stride_h;
    const u16 *gv = (const u16 *)p.v + b * p.v_stride_b + kvh * p.v_stride_h;
    constexpr int kStep = kThreads / kChunks;
    int pend_tile = -1;
    bool pend_full = false;
    auto issue = [&](int st) {
      int t;
      bool f;
      if (tiles.next(t, f)) {
        const u32 sk = s_kv + st * 2 * kKBytes;
        Fwd::template load_tile<kTK>(sk, [&](int r) { return gk + (long long)r * p.k_stride_r; },
                                     (long long)kStep * p.k_stride_r, t * kTK, p.k_len, tid);
        Fwd::template load_tile<kTK>(sk + kKBytes,
                                     [&](int r) { return gv + (long long)r * p.v_stride_r; },
                                     (long long)kStep * p.v_stride_r, t * kTK, p.k_len, tid);
        pend_tile = t, pend_full = f;
      } else {
        pend_tile = -1;
      }
      sm80::cp_async_commit();
    };
    {
      const u16 *gq = (const u16 *)p.q + b * p.q_stride_b + h * p.q_stride_h;
      const u16 *gd = (const u16 *)p.dout + b * p.do_stride_b + h * p.do_stride_h;
      Fwd::template load_tile<kTQ>(s_q, [&](int r) { return gq + (long long)r * p.q_stride_r; },
                                   (long long)kStep * p.q_stride_r, q0, p.q_len, tid);
      Fwd::template load_tile<kTQ>(s_do, [&](int r) { return gd + (long long)r * p.do_stride_r; },
                                   (long long)kStep * p.do_stride_r, q0, p.q_len, tid);
    }
    issue(0);

    // This thread's two rows: lse2 and D.
    float m[2], d[2];
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const long long r = bh * p.q_pad + q0 + wrow + (lane >> 2) + hh * 8;
      m[hh] = p.lse2[r];
      d[hh] = p.delta[r];
    }
    const Lanes l(lane);
    Acc dq;
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) dq[i] = 0.f;
    const float sl2 = p.scale * kLog2e;

    int st = 0;
    for (;;) {
      const int t = pend_tile;
      const bool full = pend_full;
      if (t < 0) break;
      sm80::cp_async_wait<0>();
      __syncthreads();
      issue(st ^ 1);
      const u32 sk = s_kv + st * 2 * kKBytes, sv = sk + kKBytes;
      typedef float KSlice[kTK / 2];
      KSlice s;
      gemm_nt<kTK>(s, s_q + wrow * kRowBytes, sk, l);  // S, unscaled
      if (needs_mask<kTK>(t, full, p.k_len))
        mask_slice<Pattern>(s, t * kTK, p.k_len, q_off + q0 + wrow + (lane >> 2), lane);
#pragma unroll
      for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s[j * 4 + e] = ex2(s[j * 4 + e] * sl2 - m[e >> 1]);
      {
        KSlice dp;
        gemm_nt<kTK>(dp, s_do + wrow * kRowBytes, sv, l);  // dP = dO V^T
#pragma unroll
        for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
          for (int e = 0; e < 4; ++e) s[j * 4 + e] *= dp[j * 4 + e] - d[e >> 1];
      }
      gemm_pb<kTK>(dq, s, sk, l);  // dQ += dS K
      st ^= 1;
    }
    sm80::cp_async_wait<0>();
    // Every thread's copies have landed: a tile whose walk is empty never
    // reached the loop's barrier, and other threads' copies fill this warp's
    // Q rows.
    __syncthreads();
    u16 *gq = (u16 *)p.dq + b * p.dq_stride_b + h * p.dq_stride_h + (long long)q0 * p.dq_stride_r;
    // Each warp stages through its own rows of the Q tile (only it reads them now).
    store_rows(dq, p.scale, smem, wrow, gq, p.dq_stride_r, p.q_len - q0, lane);
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_BWD_SM80_CUH
