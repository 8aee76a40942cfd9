//===- SieveBwdSm90.cuh - Sparse attention backward, wgmma ------*- CUDA -*-===//
//
// The backward's per-key-tile kernel for Hopper (sm_90a): BwdSm80's
// structure (the transposed walk per key tile, each query head of the KV
// group in turn, dK and dV in registers, dQ by fp32 reductions into
// dq_accum) with its five matmuls as warpgroup MMAs. One warpgroup owns the
// 64 keys of a tile; per query tile of 64, in this order (each group waited
// for before the next: the hd128 kernel holds dK and dV, 128 registers a
// thread, and overlapping more of them spills):
//
//   S^T  = K Q^T     wgmma ss, both K-major; then the mask and P^T
//   dV  += P^T dO    wgmma rs: P^T from registers, dO read MN-major
//   dP^T = V dO^T    wgmma ss, both K-major; then dS^T = P^T (dP^T - D)
//   dK  += dS^T Q    wgmma rs: dS^T from registers, Q read MN-major
//   dQ   = dS K      wgmma ss: dS^T from shared memory read MN-major (the
//                    transposed A), K read MN-major; two n64 halves of the
//                    head dim, each reduced into dq_accum as it completes.
//
// The pre, post and deterministic dq entries are BwdSm80's (mma.sync): they
// are a small share of the time. Tiles are in the 128-byte-swizzled layout
// of arch/sm90/SieveSm90.cuh (the descriptors are the forward wgmma
// kernel's: K-major LBO 16 / SBO 1024, MN-major LBO = a column block, SBO
// 1024).
//
// Verified on an H200 (bench/gpu/check_backward.sh, docs/performance.md):
// the default backward on sm_90a. SieveBwdSm90TwoWg.cuh builds on its
// helpers.
//
// Cfg: as BwdSm80 (kTileQ = kTileK = 64, 4 warps = one warpgroup, 2 stages).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_BWD_SM90_CUH
#define SIEVE_KERNELS_BWD_SM90_CUH

namespace sieve::dev {

namespace sm90 {
/// One m64n64k16 wgmma with both operands from shared memory read
/// MN-major (transposed A and B): D += A B.
#define SIEVE_WGMMA_TT_DEFINE(T, t)                                                          \
  __device__ __forceinline__ void wgmma_ss_tt(T, float (&d)[32], u64 da, u64 db, int scale_d) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n" SIEVE_WG_OP(64, t)             \
                 "{" SIEVE_WG_R32 "}, %32, %33, p, 1, 1, 1, 1;\n}\n"                          \
                 : SIEVE_WG_D32                                                              \
                 : "l"(da), "l"(db), "r"(scale_d));                                          \
  }
SIEVE_WGMMA_TT_DEFINE(Bf16, "bf16")
SIEVE_WGMMA_TT_DEFINE(Fp16, "f16")
#undef SIEVE_WGMMA_TT_DEFINE
}  // namespace sm90

template <class Cfg, class Pattern>
struct BwdSm90 {
  using Base = BwdSm80<Cfg, Pattern>;  // pre, post, the dq pass; sizes and helpers
  using Elem = typename Cfg::Elem;
  static constexpr int kD = Base::kD, kTQ = Base::kTQ, kTK = Base::kTK;
  static constexpr int kThreads = Base::kThreads, kMinBlocks = 1;
  static constexpr int kAuxThreads = kThreads;  // pre, post, dq
  static constexpr int kChunks = Base::kChunks;
  static constexpr int kQBytes = Base::kQBytes, kKBytes = Base::kKBytes;
  static constexpr int kVecBytes = Base::kVecBytes;
  // Q, dO, then lse2 and D (512 bytes) padded to 1 KiB.
  static constexpr int kStageBytes = 2 * kQBytes + 1024;
  // K, V; two stages of Q, dO, lse2 and D; dS^T; 1 KiB to align the base
  // to a swizzle atom. Every tile below is a multiple of 1 KiB.
  static constexpr int kSmemBytes = 2 * kKBytes + 2 * kStageBytes + kTK * kTQ * 2 + 1024;

  static_assert(kThreads == 128 && kTQ == 64 && kTK == 64, "one warpgroup, 64 x 64 tiles");
  static_assert(kStageBytes % 1024 == 0 && 2 * kVecBytes <= 1024, "stages keep tiles 1 KiB aligned");

  static constexpr sieve_launch_info launch_info() {
    return {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_BACKWARD, SIEVE_ABI_KV_DENSE, Elem::kAbi, kD,
            kTQ, kTK, kThreads, kSmemBytes, 0, Base::kDqSmemBytes};
  }

  typedef float Slice[kTQ / 2];  // this thread's share of a 64 x 64 tile
  typedef float Acc[kD / 2];     // ... of a 64 x kD accumulator
  typedef u32 Frag[kTQ / 16][4]; // a Slice as the A operand of an rs wgmma

  static __device__ __forceinline__ void pre(const sieve_bwd_params &p) { Base::pre(p); }
  static __device__ __forceinline__ void post(const sieve_bwd_params &p) { Base::post(p); }
  static __device__ __forceinline__ void run_dq(const sieve_bwd_params &p) { Base::run_dq(p); }

  /// Copies rows [row0, row0 + kRows) into a swizzled [kRows][kD] tile with
  /// kBy threads (gstep: kBy / kChunks rows in global memory); rows at or past
  /// len are zero-filled.
  template <int kRows = 64, int kBy = kThreads, class Rows>
  static __device__ __forceinline__ void load_tile(u32 dst, Rows rows, long long gstep, int row0,
                                                   int len, int tid) {
    constexpr int kStep = kBy / kChunks;
    static_assert(kStep % 8 == 0 && kRows % kStep == 0, "a pass keeps each row's swizzle");
    const int r0 = tid / kChunks, ch = tid % kChunks;
    const u16 *g = rows(row0 + r0) + ch * 8;
    const u32 d = dst + sm90::swz<kRows>(r0, ch);
#pragma unroll
    for (int i = 0; i < kRows / kStep; ++i) {
      sm80::cp_async16(d + i * kStep * 128, g, row0 + r0 + i * kStep < len);
      g += gstep;
    }
  }

  /// acc = A B^T over kD for 64 rows at sa of a kARows-row tile and the
  /// 64-row tile at sb (both K-major).
  template <int kARows = 64>
  static __device__ __forceinline__ void nt_issue(Slice &acc, u32 sa, u32 sb) {
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      const u32 off = (kk & 3) * 32;
      const u64 da = sm90::desc(sa + (kk >> 2) * (kARows * 128) + off, 16, 1024);
      const u64 db = sm90::desc(sb + (kk >> 2) * (64 * 128) + off, 16, 1024);
      sm90::wgmma_ss(Elem(), acc, da, db, kk > 0);
    }
  }

  /// acc += F B for the 64 x 64 fragment F and the 64-row tile at sb, read
  /// MN-major (its rows are the reduction).
  static __device__ __forceinline__ void fb_issue(Acc &acc, Frag &f, u32 sb) {
#pragma unroll
    for (int kk = 0; kk < kTQ / 16; ++kk)
      sm90::wgmma_rs(Elem(), acc, f[kk], sm90::desc(sb + kk * 16 * 128, 64 * 128, 1024), 1);
  }

  static __device__ __forceinline__ void run(const sieve_bwd_params &p) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    const u32 s_base = (smem_addr(smem_raw) + 1023) & ~1023u;
    unsigned char *smem = smem_raw + (s_base - smem_addr(smem_raw));
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int kt = blockIdx.x, kvh = blockIdx.y, b = blockIdx.z;
    const int group = p.heads / p.kv_heads;
    const int k0 = kt * kTK;
    const long long q_off = (long long)p.k_len - p.q_len;
    const int wrow = warp * 16;  // this warp's 16 rows of the warpgroup's 64

    const u32 s_k = s_base, s_v = s_k + kKBytes;
    const u32 s_stage = s_v + kKBytes;  // stage i: Q, dO, lse2, D
    const u32 s_ds = s_stage + 2 * kStageBytes;

    // The query tiles of every head of the group (SieveBwdWalk.cuh).
    using Stream = BwdTileStream<Pattern, kTQ, kTK>;
    __shared__ __align__(8) unsigned char walk_buf[4][sizeof(typename Stream::Walk)];
    Stream stream(p, reinterpret_cast<typename Stream::Walk *>(walk_buf[warp]), k0, q_off, kvh,
                  group, 0, group, lane);

    int pend_head = -1, pend_tile = -1;
    bool pend_full = false;
    constexpr int kStep = kThreads / kChunks;
    auto issue = [&](int st) {
      int head, t;
      bool f;
      if (stream.next(head, t, f)) {
        const u32 s_q = s_stage + st * kStageBytes, s_do = s_q + kQBytes;
        const u32 s_vec = s_do + kQBytes;
        const u16 *gq = (const u16 *)p.q + b * p.q_stride_b + head * p.q_stride_h;
        const u16 *gd = (const u16 *)p.dout + b * p.do_stride_b + head * p.do_stride_h;
        load_tile(s_q, [&](int r) { return gq + (long long)r * p.q_stride_r; },
                  (long long)kStep * p.q_stride_r, t * kTQ, p.q_len, tid);
        load_tile(s_do, [&](int r) { return gd + (long long)r * p.do_stride_r; },
                  (long long)kStep * p.do_stride_r, t * kTQ, p.q_len, tid);
        if (tid < 2 * kVecBytes / 16) {
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
    {
      const u16 *gk = (const u16 *)p.k + b * p.k_stride_b + kvh * p.k_stride_h;
      const u16 *gv = (const u16 *)p.v + b * p.v_stride_b + kvh * p.v_stride_h;
      load_tile(s_k, [&](int r) { return gk + (long long)r * p.k_stride_r; },
                (long long)kStep * p.k_stride_r, k0, p.k_len, tid);
      load_tile(s_v, [&](int r) { return gv + (long long)r * p.v_stride_r; },
                (long long)kStep * p.v_stride_r, k0, p.k_len, tid);
    }
    issue(0);

    Acc dk, dv;
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) dk[i] = dv[i] = 0.f;
    const float sl2 = p.scale * kLog2e;
    const bool edge = k0 + kTK > p.k_len;

    int st = 0;
    for (;;) {
      const int head = pend_head, t = pend_tile;
      const bool full = pend_full;
      if (head < 0) break;
      sm80::cp_async_wait<0>();
      sm90::fence_proxy_async();
      __syncthreads();  // the stage is visible; everyone is done with the other and with dS^T
      issue(st ^ 1);
      const u32 s_q = s_stage + st * kStageBytes, s_do = s_q + kQBytes;
      const f32x2 *lse2 = (const f32x2 *)(smem + (s_q - s_base) + 2 * kQBytes);
      const f32x2 *dd = lse2 + kTQ / 2;

      // S^T first, alone: the pattern's mask then runs beside only dK, dV
      // and S^T (with dP^T in flight too, the hd128 kernel spills).
      Slice s;
      sm90::fence_operands(s);
      sm90::wgmma_fence();
      nt_issue(s, s_k, s_q);
      sm90::wgmma_commit();
      sm90::wgmma_wait_all();
      sm90::fence_operands(s);
      if (!full || edge) Base::mask_keys(s, k0 + wrow + (lane >> 2), t * kTQ, p, lane);
      // P^T = exp2(S^T sl2 - lse2), kept in s and packed for dV.
      Frag pf, sf;
#pragma unroll
      for (int j = 0; j < kTQ / 8; ++j) {
        const f32x2 m = lse2[j * 4 + (lane & 3)];
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          float &a = s[j * 4 + hh * 2], &c = s[j * 4 + hh * 2 + 1];
          a = ex2(a * sl2 - m.x);
          c = ex2(c * sl2 - m.y);
          pf[j >> 1][(j & 1) * 2 + hh] = Elem::pack2(a, c);
        }
      }
      // dV += P^T dO, then dP^T = V dO^T: one after the other, so P^T's
      // packed copy is dead before dP^T's accumulators are live.
      sm90::fence_operands(dv);
      sm90::fence_operands(pf);
      sm90::wgmma_fence();
      fb_issue(dv, pf, s_do);
      sm90::wgmma_commit();
      sm90::wgmma_wait_all();
      sm90::fence_operands(dv);
      sm90::fence_operands(pf);
      Slice dp;
      sm90::fence_operands(dp);
      sm90::wgmma_fence();
      nt_issue(dp, s_v, s_do);
      sm90::wgmma_commit();
      sm90::wgmma_wait_all();
      sm90::fence_operands(dp);
      // dS^T = P^T (dP^T - D), packed for dK and dQ.
#pragma unroll
      for (int j = 0; j < kTQ / 8; ++j) {
        const f32x2 d = dd[j * 4 + (lane & 3)];
#pragma unroll
        for (int hh = 0; hh < 2; ++hh)
          sf[j >> 1][(j & 1) * 2 + hh] =
              Elem::pack2(s[j * 4 + hh * 2] * (dp[j * 4 + hh * 2] - d.x),
                          s[j * 4 + hh * 2 + 1] * (dp[j * 4 + hh * 2 + 1] - d.y));
      }
      if (p.dq_accum) {
        // dS^T to shared memory (rows keys, 128-byte-swizzled) for dQ, before
        // the dK group takes sf (registers of an in-flight wgmma are not to be
        // touched).
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          const int r = wrow + (lane >> 2) + hh * 8;
#pragma unroll
          for (int j = 0; j < kTQ / 8; ++j)
            *(u32 *)(smem + (s_ds - s_base) + sm90::swz<64>(r, j) + (lane & 3) * 4) =
                sf[j >> 1][(j & 1) * 2 + hh];
        }
      }
      // dK += dS^T Q.
      sm90::fence_operands(dk);
      sm90::fence_operands(sf);
      sm90::wgmma_fence();
      fb_issue(dk, sf, s_q);
      sm90::wgmma_commit();
      sm90::wgmma_wait_all();
      sm90::fence_operands(dk);
      sm90::fence_operands(sf);
      if (p.dq_accum) {
        sm90::fence_proxy_async();
        __syncthreads();  // every warp's dS^T rows, visible to the async proxy
        // dQ = dS K per n64 half of the head dim; rows are the queries: warp
        // w holds query rows 16 w .. 16 w + 15 of the tile.
        float *gacc = p.dq_accum +
                      (((long long)b * p.heads + head) * p.q_pad + t * kTQ + wrow + (lane >> 2)) * kD +
                      (lane & 3) * 2;
#pragma unroll
        for (int half = 0; half < kD / 64; ++half) {
          float acc[32];
          sm90::fence_operands(acc);
          sm90::wgmma_fence();
#pragma unroll
          for (int kk = 0; kk < kTK / 16; ++kk) {
            const u64 da = sm90::desc(s_ds + kk * 16 * 128, 64 * 128, 1024);
            const u64 db = sm90::desc(s_k + half * (64 * 128) + kk * 16 * 128, 64 * 128, 1024);
            sm90::wgmma_ss_tt(Elem(), acc, da, db, kk > 0);
          }
          sm90::wgmma_commit();
          sm90::wgmma_wait_all();
          sm90::fence_operands(acc);
#pragma unroll
          for (int q4 = 0; q4 < 2; ++q4)
            red_add_tile(gacc + half * 64 + q4 * 32, kD, *(const float(*)[16])(acc + q4 * 16), lane);
        }
      }
      st ^= 1;
    }
    sm80::cp_async_wait<0>();
    __syncthreads();  // every warp is done with K and V: stage dK and dV there

    // Epilogue: dK (scaled) and dV through the K and V tiles, then 16-byte stores.
    const int rows = p.k_len - k0;
    u16 *gdk = (u16 *)p.dk + b * p.dk_stride_b + kvh * p.dk_stride_h + (long long)k0 * p.dk_stride_r;
    u16 *gdv = (u16 *)p.dv + b * p.dv_stride_b + kvh * p.dv_stride_h + (long long)k0 * p.dv_stride_r;
    store_rows(dk, p.scale, smem, wrow, gdk, p.dk_stride_r, rows, lane);
    store_rows(dv, 1.f, smem + kKBytes, wrow, gdv, p.dv_stride_r, rows, lane);
  }

  /// A warp's 16 accumulator rows (times mul) through its rows of the
  /// swizzled [kRows][kD] tile at `stage`, then 16-byte stores of rows below
  /// `rows`.
  template <int kRows = 64>
  static __device__ __forceinline__ void store_rows(const Acc &acc, float mul,
                                                    unsigned char *stage, int wrow, u16 *g,
                                                    long long stride, int rows, int lane) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = wrow + (lane >> 2) + h * 8;
#pragma unroll
      for (int j = 0; j < kD / 8; ++j)
        *(u32 *)(stage + sm90::swz<kRows>(r, j) + (lane & 3) * 4) =
            Elem::pack2(acc[j * 4 + h * 2] * mul, acc[j * 4 + h * 2 + 1] * mul);
    }
    __syncwarp();
#pragma unroll
    for (int i = 0; i < 16 * kChunks / 32; ++i) {
      const int c = lane + i * 32;
      const int r = wrow + c / kChunks, ch = c % kChunks;
      if (r < rows)
        *(u32x4 *)(g + (long long)r * stride + ch * 8) = *(const u32x4 *)(stage + sm90::swz<kRows>(r, ch));
    }
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_BWD_SM90_CUH
