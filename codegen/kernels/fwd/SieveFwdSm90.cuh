//===- SieveFwdSm90.cuh - Sparse forward attention, wgmma -------*- CUDA -*-===//
//
// Forward attention for Hopper (sm_90a): each warpgroup (4 warps) owns 64
// query rows and runs S = Q K^T and O += P V as asynchronous warpgroup MMAs,
// Q and K from shared memory, P from registers, V from shared memory read
// transposed. K/V tiles stream through a 3-stage cp.async pipeline (fed by
// the pattern's closed-form walk) into the 128-byte-swizzled layout the
// tensor cores read (arch/sm90/SieveSm90.cuh). S of the next key tile is
// issued before the softmax of the current one, which hides it; the loop is
// unrolled twice so the two score tiles trade roles without copies. Verified
// on an H100 (docs/performance.md).
//
// Cfg (generated): Elem, kHeadDim (64 | 128), kTileQ (64 x warpgroups),
// kTileK (64 | 128; must divide the pattern's key block), kWarps, kStages
// (3: V(j), K(j + 1) and the load of j + 2). Pattern, Kv: as SieveFwdSm80.cuh.
// Launch: as SieveFwdSm80.cuh; the dynamic shared memory includes 1 KiB to
// align the base to a swizzle atom.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_FWD_SM90_CUH
#define SIEVE_KERNELS_FWD_SM90_CUH

namespace sieve::dev {

template <class Cfg, class Pattern, class Kv>
struct FwdSm90 {
  using Elem = typename Cfg::Elem;
  static constexpr int kD = Cfg::kHeadDim;
  static constexpr int kTQ = Cfg::kTileQ;
  static constexpr int kTK = Cfg::kTileK;
  static constexpr int kWarps = Cfg::kWarps;
  static constexpr int kStages = Cfg::kStages;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kMinBlocks = 1;
  static constexpr int kGroups = kWarps / 4;  // warpgroups, 64 query rows each
  static constexpr int kChunks = kD / 8;      // 16-byte chunks per row
  static constexpr int kQBytes = kTQ * kD * 2;
  static constexpr int kKVBytes = kTK * kD * 2;  // one K (or V) stage
  // Q, the K and V stages, plus 1 KiB to align the base to a swizzle atom.
  static constexpr int kSmemBytes = kQBytes + 2 * kStages * kKVBytes + 1024;

  static_assert(kD == 64 || kD == 128, "head dim must be 64 or 128");
  static_assert(kWarps % 4 == 0 && kTQ == 64 * kGroups, "the query tile must be 64 x warpgroups");
  static_assert(kTK == 64 || kTK == 128, "the key tile must be 64 or 128");
  static_assert(kStages >= 3, "S(j + 1) overlapped with tile j needs 3 stages");
  static_assert((kTK * kChunks) % kThreads == 0 && (kTQ * kChunks) % kThreads == 0,
                "tile chunk counts must divide the thread count");

  static constexpr sieve_launch_info launch_info() {
    return {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_FORWARD, Kv::kAbi, Elem::kAbi, kD, kTQ, kTK,
            kThreads, kSmemBytes};
  }

  typedef float Slice[kTK / 2];        // this thread's share of a 64-row S tile
  typedef float Acc[kD / 2];           // ... of the O accumulator
  typedef u32 PFrag[kTK / 16][4];      // P as the A operand of O += P V

  /// Copies rows [row0, row0 + kRows) into a swizzled tile; rows at or past
  /// len are zero-filled (so padded V rows never inject NaN).
  template <int kRows, class Rows>
  static __device__ __forceinline__ void load_tile(u32 dst, Rows rows, long long gstep, int row0,
                                                   int len, int tid) {
    constexpr int kStep = kThreads / kChunks;  // rows per pass, a multiple of 8
    static_assert(kThreads % kChunks == 0 && kStep % 8 == 0, "need >= 8 rows per copy step");
    const int r0 = tid / kChunks, ch = tid % kChunks;
    const u16 *g = rows(row0 + r0) + ch * 8;
    const u32 d = dst + sm90::swz<kRows>(r0, ch);
#pragma unroll
    for (int i = 0; i < kRows / kStep; ++i) {
      sm80::cp_async16(d + i * kStep * 128, g, row0 + r0 + i * kStep < len);  // past len: not read
      g += gstep;
    }
  }

  /// Issues S = Q K^T for this warpgroup's 64 rows (Q at sq, the group's first
  /// row) and the K tile at sk, as one wgmma group; wait before reading s.
  static __device__ __forceinline__ void qk_issue(Slice &s, u32 sq, u32 sk) {
    sm90::fence_operands(s);
    sm90::wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      const u32 off = (kk & 3) * 32;  // 16 elements along the 128-byte row
      const u64 da = sm90::desc(sq + (kk >> 2) * (kTQ * 128) + off, 16, 1024);
      const u64 db = sm90::desc(sk + (kk >> 2) * (kTK * 128) + off, 16, 1024);
      sm90::wgmma_ss(Elem(), s, da, db, kk > 0);
    }
    sm90::wgmma_commit();
  }

  /// Issues O += P V with the V tile at sv as one wgmma group. pf must stay
  /// unchanged until the group completes.
  static __device__ __forceinline__ void pv_issue(Acc &o, PFrag &pf, u32 sv) {
    sm90::fence_operands(o);
    sm90::fence_operands(pf);
    sm90::wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < kTK / 16; ++kk) {
      const u64 db = sm90::desc(sv + kk * 16 * 128, kTK * 128, 1024);
      sm90::wgmma_rs(Elem(), o, pf[kk], db, 1);
    }
    sm90::wgmma_commit();
  }

  /// The softmax of s (masked scores) into P, O rescaled where needed.
  /// Only called once the previous P V has completed.
  static __device__ __forceinline__ void softmax_pack(Slice &s, Acc &o, RowState &st, float sl2,
                                                      PFrag &pf) {
    float mx[2];
    row_max(s, sl2, mx);
    if (__any_sync(0xffffffffu, outgrew(st, mx))) {
      float alpha[2];
      move_max(st, mx, alpha);
      scale_rows(o, alpha);
    }
    exponentiate_pack<Elem>(s, st, sl2, pf);
  }

  /// softmax_pack, then O += P V issued.
  static __device__ __forceinline__ void softmax_pv_issue(Slice &s, Acc &o, RowState &st, u32 sv,
                                                          float sl2, PFrag &pf) {
    softmax_pack(s, o, st, sl2, pf);
    pv_issue(o, pf, sv);
  }

  /// The epilogue of one 64-row warpgroup (`group`, this thread's row
  /// `trow` of the tile): normalise, write LSE, stage O (16-bit) through the
  /// group's own rows of the Q tile at the start of `smem`, then 16-byte
  /// stores. Named barrier group + 1: only this warpgroup writes and reads
  /// those rows. (The warp-specialised kernel's consumers end the same way.)
  static __device__ __forceinline__ void store_group(const sieve_fwd_params &p, const RowState &st,
                                                     const Acc &o, unsigned char *smem, int group,
                                                     int trow, int q0, int h, int b) {
    const int tid = threadIdx.x, lane = tid & 31;
    float inv[2], lse[2];
    finish_rows(st, inv, lse);
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const int r = trow + hh * 8;
      if (p.lse && (lane & 3) == 0 && q0 + r < p.q_len)
        p.lse[((long long)b * p.heads + h) * p.q_len + q0 + r] = lse[hh];
#pragma unroll
      for (int j = 0; j < kD / 8; ++j) {
        const u32 v = Elem::pack2(o[j * 4 + hh * 2] * inv[hh], o[j * 4 + hh * 2 + 1] * inv[hh]);
        *(u32 *)(smem + sm90::swz<kTQ>(r, j) + (lane & 3) * 4) = v;
      }
    }
    asm volatile("bar.sync %0, 128;\n" ::"r"(group + 1) : "memory");
    u16 *go = (u16 *)p.o + b * p.o_stride_b + h * p.o_stride_h;
    const int gtid = tid & 127;
#pragma unroll
    for (int i = 0; i < 64 * kChunks / 128; ++i) {
      const int c = gtid + i * 128;
      const int r = group * 64 + c / kChunks, ch = c % kChunks;
      if (q0 + r < p.q_len)
        *(u32x4 *)(go + (long long)(q0 + r) * p.o_stride_r + ch * 8) =
            *(const u32x4 *)(smem + sm90::swz<kTQ>(r, ch));
    }
  }

  static __device__ __forceinline__ void run(const sieve_fwd_params &p) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    // Swizzle atoms must be 1 KiB aligned.
    const u32 s_base = (smem_addr(smem_raw) + 1023) & ~1023u;
    unsigned char *smem = smem_raw + (s_base - smem_addr(smem_raw));

    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int group = warp >> 2, gwarp = warp & 3;
    const int qt = gridDim.x - 1 - blockIdx.x;
    const int h = blockIdx.y, b = blockIdx.z;
    const int kvh = h / (p.heads / p.kv_heads);
    const int q0 = qt * kTQ;
    const long long q_off = (long long)p.k_len - p.q_len;

    const u16 *gq = (const u16 *)p.q + b * p.q_stride_b + h * p.q_stride_h;
    const Kv kv = Kv::make(p, b, kvh);

    const u32 s_q = s_base;
    const u32 s_k = s_q + kQBytes;
    const u32 s_v = s_k + kStages * kKVBytes;

    const long long qpos_begin = q_off + q0;
    const long long qpos_last = (qpos_begin + kTQ > p.k_len ? p.k_len : qpos_begin + kTQ) - 1;
    // This thread's rows: qrow and qrow + 8 (absolute positions).
    const int trow = group * 64 + gwarp * 16 + (lane >> 2);  // row within the tile
    const long long qrow = qpos_begin + trow;

    // One walk for the block. Tile i of the walk lives in stage i % kStages.
    using Rules = typename Pattern::template Rules<false>;
    walk::TileWalk<Rules> tiles(
        Rules(walk::Rows::make(qpos_begin, qpos_last, Pattern::kBlockQ, Pattern::kBlockK, p.k_len)),
        0, kTK, p.k_len);
    TileQueue<kStages - 1> queue;
    int load_stage = 0;
    auto issue = [&](int slot) {  // loads the walk's next tile, if any, into a queue slot
      int t = -1;
      bool f = false;
      if (tiles.next(t, f)) {
        load_tile<kTK>(s_k + load_stage * kKVBytes, [&](int r) { return kv.k_row(r); },
                       kv.k_step(kThreads / kChunks), t * kTK, p.k_len, tid);
        load_tile<kTK>(s_v + load_stage * kKVBytes, [&](int r) { return kv.v_row(r); },
                       kv.v_step(kThreads / kChunks), t * kTK, p.k_len, tid);
      } else {
        t = -1;
      }
      sm80::cp_async_commit();
      queue.set(slot, t, f);
      load_stage = load_stage + 1 == kStages ? 0 : load_stage + 1;
    };

    // Prologue: Q rides with tile 0; tiles 0 .. kStages - 2 are in flight.
    const u16 *gq0 = gq + (long long)q0 * p.q_stride_r;
    load_tile<kTQ>(s_q, [&](int r) { return gq0 + (long long)r * p.q_stride_r; },
                   (long long)(kThreads / kChunks) * p.q_stride_r, 0, p.q_len - q0, tid);
#pragma unroll
    for (int i = 0; i < kStages - 1; ++i) issue(i);

    Acc o;
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) o[i] = 0.f;
    RowState st;
    st.init();
    const float sl2 = p.scale * kLog2e;
    const u32 s_qg = s_q + group * 64 * 128;  // this warpgroup's rows of every column block
    int stage = 0;  // stage of the tile being computed
    auto next_stage = [](int x) { return x + 1 == kStages ? 0 : x + 1; };

    Slice sa, sb;
    PFrag pf;
    int tile, ntile;
    bool full, nfull;
    sm80::cp_async_wait<0>();  // Q and tiles 0 .. kStages - 2
    sm90::fence_proxy_async();
    __syncthreads();
    queue.pop(tile, full);
    issue(kStages - 2);  // the stage after tiles 0 .. kStages - 2 is free
    if (tile >= 0) {
      qk_issue(sa, s_qg, s_k);
      sm90::wgmma_wait_all();
      sm90::fence_operands(sa);
      if (needs_mask<kTK>(tile, full, p.k_len)) mask_slice<Pattern>(sa, tile * kTK, p.k_len, qrow, lane);
    }
    // One step: tile j (masked scores in cur) -> O; scores of tile j + 1 into
    // nxt. On entry tile j + 1 is in shared memory. Returns false when tile j
    // was the last.
    auto step = [&](Slice &cur, Slice &nxt) {
      queue.pop(ntile, nfull);
      const int nst = next_stage(stage);
      if (ntile >= 0) qk_issue(nxt, s_qg, s_k + nst * kKVBytes);
      softmax_pv_issue(cur, o, st, s_v + stage * kKVBytes, sl2, pf);
      sm90::wgmma_wait_all();
      sm90::fence_operands(nxt);
      sm90::fence_operands(o);
      sm90::fence_operands(pf);
      stage = nst;
      tile = ntile, full = nfull;
      if (tile < 0) return false;
      if (needs_mask<kTK>(tile, full, p.k_len)) mask_slice<Pattern>(nxt, tile * kTK, p.k_len, qrow, lane);
      sm80::cp_async_wait<0>();  // tile j + 2
      sm90::fence_proxy_async();
      __syncthreads();     // ... visible to all, and everyone is done with tile j
      issue(kStages - 2);  // tile j + kStages into tile j's stage
      return true;
    };
    if (tile >= 0)
      while (step(sa, sb) && step(sb, sa)) {
      }
    sm80::cp_async_wait<0>();  // drain (possibly empty) trailing groups

    store_group(p, st, o, smem, group, trow, q0, h, b);
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_FWD_SM90_CUH
