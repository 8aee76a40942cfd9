//===- SieveBwdSm90TwoWg.cuh - Backward, two warpgroups, bulk dQ -*- CUDA -*-===//
//
// The backward's per-key-tile kernel for Hopper (sm_90a) with FlashAttention
// 3's tile shape: 128 keys per CTA, two warpgroups of 64 keys each, so each
// query tile (Q, dO, lse2, D) is loaded once for both; dQ comes out of the
// CTA as one bulk reduce-add per query tile instead of per-thread atomics.
//
// Per query tile of 64, each warpgroup runs BwdSm90's sequence on its own 64
// keys (S^T, the mask and P^T; dV += P^T dO; dP^T; dS^T; dK += dS^T Q) and
// writes its dS^T rows into one [128 keys][64 queries] tile. Then, over all
// 128 keys, warpgroup w computes columns [64 w, 64 w + 64) of
// dQ = dS K (wgmma, dS^T and K both read MN-major) and stores them as fp32
// into a [64][128] shared tile whose 16-byte chunk c of row r sits at chunk
// c ^ (r & 7) (the float2 stores of a warp are then free of bank conflicts);
// thread 0 adds the whole tile to dq_accum with one
// cp.reduce.async.bulk.global.shared::cta.add.f32 of 32 KiB. dq_accum keeps
// that permutation (each 64-row tile is 32 KiB, contiguous), and `post`
// undoes it. Against BwdSm90 per pair of 64 x 64 blocks: half the Q/dO
// copies, and the dQ reductions leave as bulk transfers instead of 16
// vector atomics per thread (an ncu profile of BwdSm90 at 16K put ~20% of
// its stall samples on those atomics and the registers they hold).
//
// Synchronisation per query tile: the stage barrier (__syncthreads, as in
// BwdSm90); a __syncthreads after the dS^T stores, before which thread 0
// waits for the previous bulk reduce to have read the dQ tile; named barrier
// 1 between the dQ stores and the bulk issue (warp 0 waits, the others
// arrive and go on).
//
// Head split (GQA; sieve_bwd_params.head_split > 1): CTA y of a key tile
// takes KV head y / S and the (y % S)-th share of its group's query heads,
// so a long column (a sink attended by every query tile) is walked by S
// CTAs, not one. Each then adds its fp32 dK (scaled) and dV, permuted like
// dQ, into dkv_accum with two bulk reduce-adds of 64 KiB (staged in the K/V
// tiles and the stages, free after the loop); pre zeroes dkv_accum and
// post converts it, both striding over the whole array.
//
// Head dim 128 only (dQ splits into one 64-column block per warpgroup); the
// pre and dq entries are BwdSm80's with 4 warps (kAuxThreads).
//
// Verified on an H200 (bench/gpu/check_backward.sh, docs/performance.md):
// the default backward on sm_90a where it applies. The head split passed
// its own checks with explicit splits (`sieve run --head-split`); sieve's
// automatic choice of it (backwardHeadSplit) has not run the whole suite.
//
// Cfg (generated): Elem, kHeadDim = 128, kTileQ = 64, kTileK = 128,
// kWarps = 8, kStages = 2.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_BWD_SM90_TWO_WG_CUH
#define SIEVE_KERNELS_BWD_SM90_TWO_WG_CUH

namespace sieve::dev {

/// The configuration of the one-warpgroup kernel whose pieces BwdSm90TwoWg
/// uses: 64-key tiles, 4 warps (its pre and dq entries run with these).
template <class Cfg>
struct BwdSm90OneWgCfg : Cfg {
  static constexpr int kTileK = 64, kWarps = 4;
};

template <class Cfg, class Pattern>
struct BwdSm90TwoWg {
  using One = BwdSm90<BwdSm90OneWgCfg<Cfg>, Pattern>;  // wgmma helpers, tile copies
  using Base = typename One::Base;                     // BwdSm80: pre, dq pass, mask
  using Elem = typename Cfg::Elem;
  static constexpr int kD = Cfg::kHeadDim, kTQ = Cfg::kTileQ, kTK = Cfg::kTileK;
  static constexpr int kThreads = Cfg::kWarps * 32, kMinBlocks = 1;
  static constexpr int kAuxThreads = Base::kThreads;  // pre, post, dq
  static constexpr int kChunks = kD / 8;
  static constexpr int kQBytes = kTQ * kD * 2, kKBytes = kTK * kD * 2;
  static constexpr int kVecBytes = kTQ * 4;
  static constexpr int kStageBytes = 2 * kQBytes + 1024;  // Q, dO, lse2 and D
  static constexpr int kDsBytes = kTK * kTQ * 2;          // dS^T, [keys][queries]
  static constexpr int kDqBytes = kTQ * kD * 4;           // a query tile's dQ, fp32
  // K, V; two stages; dS^T; dQ; 1 KiB to align the base to a swizzle atom.
  static constexpr int kSmemBytes = 2 * kKBytes + 2 * kStageBytes + kDsBytes + kDqBytes + 1024;

  static_assert(kD == 128, "dQ splits into one 64-column block per warpgroup");
  static_assert(kTQ == 64 && kTK == 128 && kThreads == 256, "two warpgroups of 64 keys");
  static_assert(One::kStageBytes == kStageBytes, "the one-warpgroup kernel's stage layout");
  static_assert(2 * kKBytes == kTK * kD * 4 && 2 * kStageBytes >= kTK * kD * 4,
                "fp32 dK fits the K and V tiles, dV the stages");

  static constexpr sieve_launch_info launch_info() {
    return {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_BACKWARD, SIEVE_ABI_KV_DENSE, Elem::kAbi, kD,
            kTQ, kTK, kThreads, kSmemBytes, 0, Base::kDqSmemBytes, 0, kAuxThreads, 1};
  }

  /// Byte offset of fp32 column c (even) of row r from the start of a
  /// permuted [rows][kD] array, 16-byte chunk j of a row at j ^ (r & 7):
  /// dq_tile_offset for a tile in shared memory, dq_offset for a head's rows
  /// of dq_accum or dkv_accum (any length).
  static __device__ __forceinline__ int dq_tile_offset(int r, int c) {  // r < 2^22
    return r * (kD * 4) + (((c >> 2) ^ (r & 7)) << 4) + (c & 3) * 4;
  }
  static __device__ __forceinline__ long long dq_offset(int r, int c) {
    return (long long)(r & ~7) * (kD * 4) + dq_tile_offset(r & 7, c);
  }

  /// This CTA's index in the grid and the grid's size, counting CTAs.
  static __device__ __forceinline__ long long cta_index() {
    return ((long long)blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  }
  static __device__ __forceinline__ long long cta_count() {
    return (long long)gridDim.x * gridDim.y * gridDim.z;
  }

  /// BwdSm80's pre; with a head split, the CTAs also zero dkv_accum.
  static __device__ __forceinline__ void pre(const sieve_bwd_params &p) {
    Base::pre(p);
    if (!p.dkv_accum) return;
    const long long n = 2ll * p.batch * p.kv_heads * p.k_pad * (kD / 4);  // 16-byte units
    u32x4 *acc = (u32x4 *)p.dkv_accum;
#pragma unroll 1
    for (long long i = cta_index() * kAuxThreads + threadIdx.x; i < n; i += cta_count() * kAuxThreads)
      acc[i] = u32x4{0u, 0u, 0u, 0u};
  }
  static __device__ __forceinline__ void run_dq(const sieve_bwd_params &p) { Base::run_dq(p); }

  /// dq = scale * dq_accum, reading dq_accum's permuted rows; with a head
  /// split, dk and dv from dkv_accum (its dK already scaled), across the
  /// CTAs.
  static __device__ __forceinline__ void post(const sieve_bwd_params &p) {
    post_dq(p);
    if (!p.dkv_accum) return;
    const long long rows = (long long)p.batch * p.kv_heads * p.k_len;
#pragma unroll 1
    for (long long i = cta_index() * kAuxThreads + threadIdx.x; i < 2 * rows * kChunks;
         i += cta_count() * kAuxThreads) {
      const int ch = int(i % kChunks);
      const long long row = i / kChunks % rows;
      const bool is_v = i / kChunks >= rows;
      const int r = int(row % p.k_len);
      const long long bk = row / p.k_len;  // b * kv_heads + kv head
      const int b = int(bk / p.kv_heads), kvh = int(bk % p.kv_heads);
      const unsigned char *head_acc =
          (const unsigned char *)(p.dkv_accum +
                                  ((is_v ? (long long)p.batch * p.kv_heads : 0) + bk) * p.k_pad * kD);
      const f32x4 lo = *(const f32x4 *)(head_acc + dq_offset(r, 8 * ch));
      const f32x4 hi = *(const f32x4 *)(head_acc + dq_offset(r, 8 * ch + 4));
      u16 *g = is_v ? (u16 *)p.dv + b * p.dv_stride_b + kvh * p.dv_stride_h + (long long)r * p.dv_stride_r
                    : (u16 *)p.dk + b * p.dk_stride_b + kvh * p.dk_stride_h + (long long)r * p.dk_stride_r;
      *(u32x4 *)(g + ch * 8) = u32x4{Elem::pack2(lo.x, lo.y), Elem::pack2(lo.z, lo.w),
                                     Elem::pack2(hi.x, hi.y), Elem::pack2(hi.z, hi.w)};
    }
  }

  static __device__ __forceinline__ void post_dq(const sieve_bwd_params &p) {
    const int t = blockIdx.x, h = blockIdx.y, b = blockIdx.z, tid = threadIdx.x;
    const long long bh = (long long)b * p.heads + h;
    u16 *gq = (u16 *)p.dq + b * p.dq_stride_b + h * p.dq_stride_h;
    constexpr int kRowsPerPass = kAuxThreads / kChunks;
    const int ch = tid % kChunks;  // columns 8 ch .. 8 ch + 7
#pragma unroll 1
    for (int r = t * kTQ + tid / kChunks; r < (t + 1) * kTQ && r < p.q_len; r += kRowsPerPass) {
      const unsigned char *head_acc = (const unsigned char *)(p.dq_accum + bh * p.q_pad * kD);
      const f32x4 lo = *(const f32x4 *)(head_acc + dq_offset(r, 8 * ch));
      const f32x4 hi = *(const f32x4 *)(head_acc + dq_offset(r, 8 * ch + 4));
      const float s = p.scale;
      *(u32x4 *)(gq + (long long)r * p.dq_stride_r + ch * 8) =
          u32x4{Elem::pack2(lo.x * s, lo.y * s), Elem::pack2(lo.z * s, lo.w * s),
                Elem::pack2(hi.x * s, hi.y * s), Elem::pack2(hi.z * s, hi.w * s)};
    }
  }

  /// P^T = exp2(S^T sl2 - lse2) in s, packed into f as an rs operand.
  static __device__ __forceinline__ void to_p(typename One::Slice &s, typename One::Frag &f,
                                              const f32x2 *lse2, float sl2, int lane) {
#pragma unroll
    for (int j = 0; j < kTQ / 8; ++j) {
      const f32x2 m = lse2[j * 4 + (lane & 3)];
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        float &a = s[j * 4 + hh * 2], &c = s[j * 4 + hh * 2 + 1];
        a = ex2(a * sl2 - m.x);
        c = ex2(c * sl2 - m.y);
        f[j >> 1][(j & 1) * 2 + hh] = Elem::pack2(a, c);
      }
    }
  }

  /// dS^T = P^T (dP^T - D), packed into f.
  static __device__ __forceinline__ void to_ds(const typename One::Slice &s,
                                               const typename One::Slice &dp,
                                               typename One::Frag &f, const f32x2 *dd, int lane) {
#pragma unroll
    for (int j = 0; j < kTQ / 8; ++j) {
      const f32x2 d = dd[j * 4 + (lane & 3)];
#pragma unroll
      for (int hh = 0; hh < 2; ++hh)
        f[j >> 1][(j & 1) * 2 + hh] = Elem::pack2(s[j * 4 + hh * 2] * (dp[j * 4 + hh * 2] - d.x),
                                                  s[j * 4 + hh * 2 + 1] * (dp[j * 4 + hh * 2 + 1] - d.y));
    }
  }

  static __device__ __forceinline__ void run(const sieve_bwd_params &p) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    const u32 s_base = (smem_addr(smem_raw) + 1023) & ~1023u;
    unsigned char *smem = smem_raw + (s_base - smem_addr(smem_raw));
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, wg = warp >> 2;
    const int kt = blockIdx.x, b = blockIdx.z;
    const int kvh = blockIdx.y / p.head_split;  // and this CTA's share of its query heads:
    const int group = p.heads / p.kv_heads, share = group / p.head_split;
    const int first_head = blockIdx.y % p.head_split * share, end_head = first_head + share;
    const int k0 = kt * kTK;
    const long long q_off = (long long)p.k_len - p.q_len;
    const int wrow = (warp & 3) * 16;  // this warp's 16 rows of its warpgroup's 64
    const int krow = wg * 64 + wrow;   // ... of the key tile

    const u32 s_k = s_base, s_v = s_k + kKBytes;
    const u32 s_stage = s_v + kKBytes;  // stage i: Q, dO, lse2, D
    const u32 s_ds = s_stage + 2 * kStageBytes;
    const u32 s_dq = s_ds + kDsBytes;
    const u32 s_kw = s_k + wg * 64 * 128, s_vw = s_v + wg * 64 * 128;  // this warpgroup's keys

    // The (head, query tile) stream of BwdSm90, over the 128 keys; every
    // warp walks it (one saved state each) and gets the same tiles.
    using Stream = BwdTileStream<Pattern, kTQ, kTK>;
    __shared__ __align__(8) unsigned char walk_buf[kThreads / 32][sizeof(typename Stream::Walk)];
    Stream stream(p, reinterpret_cast<typename Stream::Walk *>(walk_buf[warp]), k0, q_off, kvh,
                  group, first_head, end_head, lane);

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
        One::template load_tile<kTQ, kThreads>(
            s_q, [&](int r) { return gq + (long long)r * p.q_stride_r; },
            (long long)kStep * p.q_stride_r, t * kTQ, p.q_len, tid);
        One::template load_tile<kTQ, kThreads>(
            s_do, [&](int r) { return gd + (long long)r * p.do_stride_r; },
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
      One::template load_tile<kTK, kThreads>(
          s_k, [&](int r) { return gk + (long long)r * p.k_stride_r; },
          (long long)kStep * p.k_stride_r, k0, p.k_len, tid);
      One::template load_tile<kTK, kThreads>(
          s_v, [&](int r) { return gv + (long long)r * p.v_stride_r; },
          (long long)kStep * p.v_stride_r, k0, p.k_len, tid);
    }
    issue(0);

    typename One::Acc dk, dv;
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

      // S^T = K Q^T for this warpgroup's 64 keys, the mask, P^T.
      typename One::Slice s;
      sm90::fence_operands(s);
      sm90::wgmma_fence();
      One::template nt_issue<kTK>(s, s_kw, s_q);
      sm90::wgmma_commit();
      sm90::wgmma_wait_all();
      sm90::fence_operands(s);
      if (!full || edge) Base::mask_keys(s, k0 + krow + (lane >> 2), t * kTQ, p, lane);
      typename One::Frag pf, sf;
      to_p(s, pf, lse2, sl2, lane);
      // dV += P^T dO, then dP^T = V dO^T (one after the other, as in BwdSm90).
      sm90::fence_operands(dv);
      sm90::fence_operands(pf);
      sm90::wgmma_fence();
      One::fb_issue(dv, pf, s_do);
      sm90::wgmma_commit();
      sm90::wgmma_wait_all();
      sm90::fence_operands(dv);
      sm90::fence_operands(pf);
      typename One::Slice dp;
      sm90::fence_operands(dp);
      sm90::wgmma_fence();
      One::template nt_issue<kTK>(dp, s_vw, s_do);
      sm90::wgmma_commit();
      sm90::wgmma_wait_all();
      sm90::fence_operands(dp);
      to_ds(s, dp, sf, dd, lane);
      if (p.dq_accum) {
        // This warpgroup's dS^T rows of the [128][64] tile, for dQ.
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          const int r = krow + (lane >> 2) + hh * 8;
#pragma unroll
          for (int j = 0; j < kTQ / 8; ++j)
            *(u32 *)(smem + (s_ds - s_base) + sm90::swz<kTK>(r, j) + (lane & 3) * 4) =
                sf[j >> 1][(j & 1) * 2 + hh];
        }
      }
      // dK += dS^T Q, in flight through the barrier and beside dQ.
      sm90::fence_operands(dk);
      sm90::fence_operands(sf);
      sm90::wgmma_fence();
      One::fb_issue(dk, sf, s_q);
      sm90::wgmma_commit();
      if (p.dq_accum) {
        sm90::fence_proxy_async();
        if (tid == 0) sm90::bulk_wait_read();  // the previous tile's dQ has left s_dq
        __syncthreads();  // both warpgroups' dS^T rows, visible to the async proxy
        // dQ[:, 64 wg .. 64 wg + 63] = dS K over the 128 keys; rows are the
        // queries: warp w of the warpgroup holds rows 16 w .. 16 w + 15.
        float acc[32];
        sm90::fence_operands(acc);
        sm90::wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < kTK / 16; ++kk) {
          const u64 da = sm90::desc(s_ds + kk * 16 * 128, kTK * 128, 1024);
          const u64 db = sm90::desc(s_k + wg * (kTK * 128) + kk * 16 * 128, kTK * 128, 1024);
          sm90::wgmma_ss_tt(Elem(), acc, da, db, kk > 0);
        }
        sm90::wgmma_commit();
        sm90::wgmma_wait_all();  // dK's group, then dQ's
        sm90::fence_operands(acc);
        sm90::fence_operands(dk);
        sm90::fence_operands(sf);
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          const int r = wrow + (lane >> 2) + hh * 8;
#pragma unroll
          for (int j = 0; j < 8; ++j)
            *(f32x2 *)(smem + (s_dq - s_base) + dq_tile_offset(r, wg * 64 + j * 8 + (lane & 3) * 2)) =
                f32x2{acc[j * 4 + hh * 2], acc[j * 4 + hh * 2 + 1]};
        }
        sm90::fence_proxy_async();
        if (warp == 0) {
          sm90::named_sync(1, kThreads);  // every dQ row is in s_dq
          if (lane == 0) {
            sm90::bulk_reduce_add_f32(p.dq_accum + (((long long)b * p.heads + head) * p.q_pad + t * kTQ) * kD,
                                      s_dq, kDqBytes);
            sm90::bulk_commit();
          }
        } else {
          sm90::named_arrive(1, kThreads);
        }
      } else {
        sm90::wgmma_wait_all();
        sm90::fence_operands(dk);
        sm90::fence_operands(sf);
      }
      st ^= 1;
    }
    sm80::cp_async_wait<0>();
    if (tid == 0) sm90::bulk_wait();
    __syncthreads();  // every warp is done with K and V: stage dK and dV there

    if (p.dkv_accum) {
      // A share of the group: dK (scaled) and dV in fp32, permuted like dQ,
      // through the K and V tiles and the stages (64 KiB each), each added
      // to dkv_accum with one bulk reduce.
      const u32 s_dk = s_k, s_dv = s_stage;
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        const int r = krow + (lane >> 2) + hh * 8;
#pragma unroll
        for (int j = 0; j < kD / 8; ++j) {
          const int off = dq_tile_offset(r, j * 8 + (lane & 3) * 2);
          *(f32x2 *)(smem + (s_dk - s_base) + off) =
              f32x2{dk[j * 4 + hh * 2] * p.scale, dk[j * 4 + hh * 2 + 1] * p.scale};
          *(f32x2 *)(smem + (s_dv - s_base) + off) = f32x2{dv[j * 4 + hh * 2], dv[j * 4 + hh * 2 + 1]};
        }
      }
      sm90::fence_proxy_async();
      __syncthreads();
      if (tid == 0) {
        float *g = p.dkv_accum + (((long long)b * p.kv_heads + kvh) * p.k_pad + k0) * kD;
        sm90::bulk_reduce_add_f32(g, s_dk, kTK * kD * 4);
        sm90::bulk_reduce_add_f32(g + (long long)p.batch * p.kv_heads * p.k_pad * kD, s_dv,
                                  kTK * kD * 4);
        sm90::bulk_commit();
        sm90::bulk_wait();
      }
      return;
    }
    // Epilogue: dK (scaled) and dV through the K and V tiles, then 16-byte stores.
    const int rows = p.k_len - k0;
    u16 *gdk = (u16 *)p.dk + b * p.dk_stride_b + kvh * p.dk_stride_h + (long long)k0 * p.dk_stride_r;
    u16 *gdv = (u16 *)p.dv + b * p.dv_stride_b + kvh * p.dv_stride_h + (long long)k0 * p.dv_stride_r;
    One::template store_rows<kTK>(dk, p.scale, smem, krow, gdk, p.dk_stride_r, rows, lane);
    One::template store_rows<kTK>(dv, 1.f, smem + kKBytes, krow, gdv, p.dv_stride_r, rows, lane);
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_BWD_SM90_TWO_WG_CUH
