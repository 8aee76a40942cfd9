//===- SieveFwdSm80.cuh - Sparse forward attention, mma.sync ----*- CUDA -*-===//
//
// FlashAttention-2-style forward pass for sm_80 and newer: mma.sync m16n8k16
// (bf16 or fp16 in, fp32 accumulate), ldmatrix from XOR-swizzled shared
// memory, a cp.async pipeline of K/V tiles fed by the pattern's closed-form
// walk, online softmax in the exp2 domain (SieveSoftmax.cuh), natural-log LSE
// out. Verified on an H100 (docs/performance.md).
//
// Cfg (generated): Elem (Bf16 | Fp16), kHeadDim (64 | 128), kTileQ, kTileK,
// kWarps (each warp owns kTileQ / kWarps rows: 16 or 32), kStages (>= 2).
// Measured best on an H100: hd128 128 x 64 tiles, hd64 64 x 64, 4 warps, 2
// stages. kTileK must divide the pattern's key block for exact tags.
// Pattern (generated): kBlockQ, kBlockK, mask(q, k), Rules<false>.
// Kv: the KV addressing policy (kv/).
//
// Launch: grid (ceil(q_len / kTileQ), heads, batch); block x runs query tile
// gridDim.x - 1 - x, so the longer (later) causal tiles start first and
// neighbouring tiles of a head run together (their window tiles hit L2).
// Rows with no attended key produce o = 0 and lse = -inf.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_FWD_SM80_CUH
#define SIEVE_KERNELS_FWD_SM80_CUH

namespace sieve::dev {

template <class Cfg, class Pattern, class Kv>
struct FwdSm80 {
  using Elem = typename Cfg::Elem;
  static constexpr int kD = Cfg::kHeadDim;
  static constexpr int kTQ = Cfg::kTileQ;
  static constexpr int kTK = Cfg::kTileK;
  static constexpr int kWarps = Cfg::kWarps;
  static constexpr int kStages = Cfg::kStages;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kMinBlocks = 1;
  static constexpr int kRowsPerWarp = kTQ / kWarps;
  static constexpr int kMT = kRowsPerWarp / 16;  // 16-row mma tiles per warp
  static constexpr int kChunks = kD / 8;         // 16-byte chunks per row
  static constexpr int kQBytes = kTQ * kD * 2;
  static constexpr int kKVBytes = kTK * kD * 2;  // one K (or V) stage
  static constexpr int kSmemBytes = kQBytes + 2 * kStages * kKVBytes;
  // Q fragments stay in registers when a warp owns 16 rows; with 32 rows they
  // are re-read from shared memory each key tile (64 registers fewer).
  static constexpr bool kQInRegs = kMT == 1;

  static_assert(kD == 64 || kD == 128, "head dim must be 64 or 128");
  static_assert(kRowsPerWarp % 16 == 0 && kMT >= 1 && kMT <= 2, "rows per warp must be 16 or 32");
  static_assert(kTK % 16 == 0 && kTK >= 16 && kTK <= 128, "key tile must be 16..128, a multiple of 16");
  static_assert(kStages >= 2, "need at least two K/V stages");
  static_assert((kTK * kChunks) % kThreads == 0 && (kTQ * kChunks) % kThreads == 0,
                "tile chunk counts must divide the thread count");

  static constexpr sieve_launch_info launch_info() {
    return {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_FORWARD, Kv::kAbi, Elem::kAbi, kD, kTQ, kTK,
            kThreads, kSmemBytes};
  }

  typedef float Slice[kTK / 2];  // one 16-row slice of scores (SieveSoftmax.cuh)

  /// Per-warp state: Q fragments, O accumulators, softmax state, and per-lane
  /// ldmatrix byte offsets (so every fragment address is register +
  /// immediate). The swizzle XORs chunk bits 0-2 with (row & 7) = (lane & 7);
  /// chunk bit 3 passes through, so 4 offsets cover both head dims.
  struct Warp {
    u32 qf[kQInRegs ? kMT * kD / 16 : 1][4];
    float o[kMT][kD / 2];
    RowState st[kMT];
    u32 koff[4];  // K (B operand): rows (lane & 7) + (lane >> 4) * 8
    u32 voff[4];  // V (transposed) and Q (A operand): rows (lane & 7) + ((lane >> 3) & 1) * 8

    __device__ __forceinline__ void init(int lane) {
      const int x = lane & 7;
      const int rk = x + (lane >> 4) * 8, bk = (lane >> 3) & 1;
      const int rv = x + ((lane >> 3) & 1) * 8, bv = lane >> 4;
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        koff[j] = (u32)((rk * kChunks + ((2 * j + bk) ^ x)) * 16);
        voff[j] = (u32)((rv * kChunks + ((2 * j + bv) ^ x)) * 16);
      }
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
        for (int i = 0; i < kD / 2; ++i) o[mt][i] = 0.f;
        st[mt].init();
      }
    }
  };

  /// Copies rows [row0, row0 + kRows) of a matrix (row r at rows(r)) into a
  /// swizzled tile; rows at or past len are zero-filled, so padded V rows
  /// never inject NaN. Thread tid copies chunk tid % kChunks of rows r0,
  /// r0 + kStep, ...; kStep is a multiple of 8, so the swizzle is the same for
  /// all of them and the shared address advances by an immediate.
  template <int kRows, class Rows>
  static __device__ __forceinline__ void load_tile(u32 dst, Rows rows, long long gstep, int row0,
                                                   int len, int tid) {
    constexpr int kStep = kThreads / kChunks;
    static_assert(kThreads % kChunks == 0 && kStep % 8 == 0, "need >= 8 rows per copy step");
    const int r0 = tid / kChunks, ch = tid % kChunks;
    const u16 *g = rows(row0 + r0) + ch * 8;
    const u32 d = dst + sm80::swz<kChunks>(r0, ch);
#pragma unroll
    for (int i = 0; i < kRows / kStep; ++i) {
      // Past len: src-size 0 zero-fills and reads nothing, so g is not dereferenced.
      sm80::cp_async16(d + i * kStep * kChunks * 16, g, row0 + r0 + i * kStep < len);
      g += gstep;
    }
  }

  /// s = Q K^T for this warp's rows against the K tile at sk.
  static __device__ __forceinline__ void qk(Slice (&s)[kMT], const Warp &w, u32 s_q, u32 sk,
                                            int wrow) {
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int i = 0; i < kTK / 2; ++i) s[mt][i] = 0.f;
#pragma unroll
    for (int kk = 0; kk < kD / 16; ++kk) {
      u32 a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        if constexpr (kQInRegs) {
#pragma unroll
          for (int i = 0; i < 4; ++i) a[mt][i] = w.qf[mt * kD / 16 + kk][i];
        } else {
          sm80::ldsm_x4(a[mt], s_q + (wrow + mt * 16) * kChunks * 16 + w.voff[kk & 3] + (kk >> 2) * 128);
        }
      }
#pragma unroll
      for (int n2 = 0; n2 < kTK / 16; ++n2) {
        u32 bk[4];
        sm80::ldsm_x4(bk, sk + n2 * 16 * kChunks * 16 + w.koff[kk & 3] + (kk >> 2) * 128);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          sm80::mma16816<Elem>(&s[mt][(2 * n2) * 4], a[mt], bk[0], bk[1]);
          sm80::mma16816<Elem>(&s[mt][(2 * n2 + 1) * 4], a[mt], bk[2], bk[3]);
        }
      }
    }
  }

  /// The online softmax of s, then O += P V with the V tile at sv.
  static __device__ __forceinline__ void softmax_pv(Slice (&s)[kMT], Warp &w, u32 sv, float sl2) {
    float mx[kMT][2];
    bool grew = false;
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      row_max(s[mt], sl2, mx[mt]);
      grew |= outgrew(w.st[mt], mx[mt]);
    }
    if (__any_sync(0xffffffffu, grew)) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        float alpha[2];
        move_max(w.st[mt], mx[mt], alpha);
        scale_rows(w.o[mt], alpha);
      }
    }
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) exponentiate(s[mt], w.st[mt], sl2);
#pragma unroll
    for (int kk = 0; kk < kTK / 16; ++kk) {
      u32 a[kMT][4];
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) pack_a<Elem>(s[mt], kk, a[mt]);
#pragma unroll
      for (int d2 = 0; d2 < kD / 16; ++d2) {
        u32 bv[4];
        sm80::ldsm_x4_t(bv, sv + kk * 16 * kChunks * 16 + w.voff[d2 & 3] + (d2 >> 2) * 128);
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          sm80::mma16816<Elem>(&w.o[mt][(2 * d2) * 4], a[mt], bv[0], bv[1]);
          sm80::mma16816<Elem>(&w.o[mt][(2 * d2 + 1) * 4], a[mt], bv[2], bv[3]);
        }
      }
    }
  }

  static __device__ __forceinline__ void run(const sieve_fwd_params &p) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int qt = gridDim.x - 1 - blockIdx.x;
    const int h = blockIdx.y, b = blockIdx.z;
    const int kvh = h / (p.heads / p.kv_heads);
    const int q0 = qt * kTQ;  // first query row (index into q) of this tile
    const long long q_off = (long long)p.k_len - p.q_len;  // absolute position of row 0

    const u16 *gq = (const u16 *)p.q + b * p.q_stride_b + h * p.q_stride_h;
    const Kv kv = Kv::make(p, b, kvh);

    const u32 s_q = smem_addr(smem);
    const u32 s_k = s_q + kQBytes;
    const u32 s_v = s_k + kStages * kKVBytes;

    const long long qpos_begin = q_off + q0;
    const long long qpos_last = (qpos_begin + kTQ > p.k_len ? p.k_len : qpos_begin + kTQ) - 1;
    const int wrow = warp * kRowsPerWarp;  // first row of this warp within the tile
    const long long qrow0 = qpos_begin + wrow;

    // One walk; tile i of the walk lives in stage i % kStages.
    using Rules = typename Pattern::template Rules<false>;
    walk::TileWalk<Rules> tiles(
        Rules(walk::Rows::make(qpos_begin, qpos_last, Pattern::kBlockQ, Pattern::kBlockK, p.k_len)),
        0, kTK, p.k_len);
    TileQueue<kStages - 1> queue;
    bool more = true;
    int load_stage = 0;
    auto issue = [&](int slot) {  // loads the walk's next tile, if any, into a queue slot
      int t = -1;
      bool f = false;
      more = more && tiles.next(t, f);
      if (more) {
        load_tile<kTK>(s_k + load_stage * kKVBytes, [&](int r) { return kv.k_row(r); },
                       kv.k_step(kThreads / kChunks), t * kTK, p.k_len, tid);
        load_tile<kTK>(s_v + load_stage * kKVBytes, [&](int r) { return kv.v_row(r); },
                       kv.v_step(kThreads / kChunks), t * kTK, p.k_len, tid);
      } else {
        t = -1;
      }
      queue.set(slot, t, f);
      sm80::cp_async_commit();
      load_stage = load_stage + 1 == kStages ? 0 : load_stage + 1;
    };

    // Prologue: Q rides in group 0 with tile 0; tiles 0 .. kStages - 2 are in flight.
    const u16 *gq0 = gq + (long long)q0 * p.q_stride_r;
    load_tile<kTQ>(s_q, [&](int r) { return gq0 + (long long)r * p.q_stride_r; },
                   (long long)(kThreads / kChunks) * p.q_stride_r, 0, p.q_len - q0, tid);
#pragma unroll
    for (int i = 0; i < kStages - 1; ++i) issue(i);

    Warp w;
    w.init(lane);
    const float sl2 = p.scale * kLog2e;

    sm80::cp_async_wait<kStages - 2>();  // group 0: Q and tile 0
    __syncthreads();
    if constexpr (kQInRegs) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int kk = 0; kk < kD / 16; ++kk)
          sm80::ldsm_x4(w.qf[mt * kD / 16 + kk],
                        s_q + (wrow + mt * 16) * kChunks * 16 + w.voff[kk & 3] + (kk >> 2) * 128);
    }

    int stage = 0;
    for (;;) {
      int tile;
      bool full;
      queue.pop(tile, full);
      if (tile < 0) break;
      sm80::cp_async_wait<kStages - 2>();
      __syncthreads();  // tile visible to all; everyone is done with the previous stage
      issue(kStages - 2);
      Slice s[kMT];
      qk(s, w, s_q, s_k + stage * kKVBytes, wrow);
      if (needs_mask<kTK>(tile, full, p.k_len)) {
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt)
          mask_slice<Pattern>(s[mt], tile * kTK, p.k_len, qrow0 + mt * 16 + (lane >> 2), lane);
      }
      softmax_pv(s, w, s_v + stage * kKVBytes, sl2);
      stage = stage + 1 == kStages ? 0 : stage + 1;
    }
    sm80::cp_async_wait<0>();  // drain (possibly empty) trailing groups

    // Epilogue: normalise, write LSE, stage O through this warp's own Q rows, store.
    unsigned char *s_o = smem;
    __syncwarp();
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      float inv[2], lse[2];
      finish_rows(w.st[mt], inv, lse);
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        const int r = wrow + mt * 16 + (lane >> 2) + hh * 8;  // row within the tile
        if (p.lse && (lane & 3) == 0 && q0 + r < p.q_len)
          p.lse[((long long)b * p.heads + h) * p.q_len + q0 + r] = lse[hh];
#pragma unroll
        for (int j = 0; j < kD / 8; ++j) {
          const u32 v = Elem::pack2(w.o[mt][j * 4 + hh * 2] * inv[hh], w.o[mt][j * 4 + hh * 2 + 1] * inv[hh]);
          // element column j * 8 + (lane & 3) * 2 lies in chunk j, at byte (lane & 3) * 4
          *(u32 *)(s_o + sm80::swz<kChunks>(r, j) + (lane & 3) * 4) = v;
        }
      }
    }
    __syncwarp();
    u16 *go = (u16 *)p.o + b * p.o_stride_b + h * p.o_stride_h;
#pragma unroll
    for (int i = 0; i < kRowsPerWarp * kChunks / 32; ++i) {
      const int c = lane + i * 32;
      const int r = wrow + c / kChunks, ch = c % kChunks;
      if (q0 + r < p.q_len)
        *(u32x4 *)(go + (long long)(q0 + r) * p.o_stride_r + ch * 8) =
            *(const u32x4 *)(s_o + sm80::swz<kChunks>(r, ch));
    }
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_FWD_SM80_CUH
