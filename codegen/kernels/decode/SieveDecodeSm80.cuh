//===- SieveDecodeSm80.cuh - Split-KV decode, mma.sync ---------*- CUDA -*-===//
//
// Attention for few queries per sequence (decode, speculative decode, small
// prefill chunks) over variable-length batches and dense or paged KV.
// Verified on an H200 (sm_90a) against the CPU executor: 54 layouts,
// split counts (1-64), tile widths (16-64 keys), head dims and dtypes, with
// this file's split combine; memcheck and racecheck clean (docs/performance.md,
// 2026-12-02, fifth session; the dense one-address copies in call 6, with
// memcheck). sm_80-sm_89 compile with 0 spills but have not run.
//
// Rows: the query heads of one KV group are packed into one tile (row
// i * group + j is query i of head kvh * group + j), so each K/V tile is
// read once per KV head, not once per query head. The tile's rows span
// query positions [first, last] of its sequence; the pattern's walk for that
// position range yields the key tiles, exactly as in the forward kernel,
// and mask_rows gives each row its own position.
//
// Warps split keys, not rows: a decode tile has few rows (4 for one query
// of a 32/8 group), so every warp takes the tile's 16 packed rows against
// its own kTK / kWarps keys of each K/V stage, with its own online softmax,
// and the warps' states merge by their maxima in the epilogue. A row tile
// is 16 rows: one mma tile. (Each warp doing 16 rows against all keys, as
// before, spent 4x the instructions per key on an H200's latency-bound
// decode: ~700 per 64-key tile per warp, docs/performance.md.)
//
// Split-KV: the grid carries `splits` CTAs per row tile. Each counts the
// walk's tiles T (warp 0's 32 lanes count a chunk of the key range each by
// passing over it, so a long walk costs a chunk's runs, and a warp scan of
// the counts places the split as walk::place_split_counted does), uses
// min(splits, max(1, floor(T / kMinSplitTiles))) of them, and CTA s takes tiles
// [T s / S, T (s + 1) / S) of the walk (as walk::take_split): every attended
// tile exactly once. With splits > 1 each CTA writes a normalised fp32
// partial O and its LSE (unused splits: LSE -inf), merged by LSE in
// DecodeCombine: a second kernel, or, with tickets, the row tile's last CTA
// (combine_if_last). With splits == 1 the CTA writes o and lse itself.
//
// The math (Q K^T, online softmax, P V) is FwdSm80's on a 16-row by
// kTK / kWarps-key slice, Q in registers; the loader addresses every row
// through the KV policy, so paged and packed rows cost one address each.
//
// Cfg (generated): Elem, kHeadDim (64 | 128), kTileQ = 16 packed rows,
// kTileK (dividing the pattern's key block, 16 keys or more per warp),
// kWarps, kStages, kMinSplitTiles. Launch: sieve_kernel_abi.h (decode).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_DECODE_SM80_CUH
#define SIEVE_KERNELS_DECODE_SM80_CUH

namespace sieve::dev {

/// A sequence's lengths, clamped to the launch's maxima (so a bad length
/// array cannot move any index out of the tensors the host checked).
struct DecodeSeq {
  int q_len, k_len;
  long long q_row0;  // the first row of the sequence in q, o and lse (packed index)

  __device__ __forceinline__ static DecodeSeq of(const sieve_decode_params &p, int b) {
    DecodeSeq s;
    int q = p.q_len, k = p.k_len;
    if (p.cu_seqlens_q) q = p.cu_seqlens_q[b + 1] - p.cu_seqlens_q[b];
    if (p.seqlens_k) k = p.seqlens_k[b];
    else if (p.cu_seqlens_k) k = p.cu_seqlens_k[b + 1] - p.cu_seqlens_k[b];
    k = k < 0 ? 0 : k > p.k_len ? p.k_len : k;
    q = q < 0 ? 0 : q > p.q_len ? p.q_len : q;
    s.q_len = q > k ? k : q;
    s.k_len = k;
    s.q_row0 = p.cu_seqlens_q ? (long long)p.cu_seqlens_q[b] : (long long)b * p.q_len;
    return s;
  }
  /// Element offset of query i, head h in a tensor with these strides.
  __device__ __forceinline__ long long offset(const sieve_decode_params &p, int b, int i, int h,
                                              long long sb, long long sh, long long sr) const {
    return (p.cu_seqlens_q ? (q_row0 + i) * sr : b * sb + (long long)i * sr) + h * sh;
  }
};

/// What one warp's math sees: the tile's 16 rows (as one of kWarps 16-row
/// warps, so FwdSm80 keeps Q in registers) and its kTileK / kWarps keys.
template <class Cfg> struct DecodeWarpCfg : Cfg {
  static constexpr int kTileQ = 16 * Cfg::kWarps;
  static constexpr int kTileK = Cfg::kTileK / Cfg::kWarps;
};

/// Merges the splits' partial results by their LSE, one 32-thread block
/// (one warp) per (query, head):
///   m = max_s lse_s,  w_s = exp(lse_s - m),  o = sum_s w_s o_s / sum_s w_s,
///   lse = m + log(sum_s w_s);  all lse_s = -inf: o = 0, lse = -inf.
/// Lane j owns splits j and j + 32 (splits <= 64, which the runtime checks)
/// and reads their whole O rows, so a step costs two memory round trips
/// (the LSEs, then every split's O at once) whatever the split count, on as
/// many SMs as there are (query, head) cells. The warp then sums its lanes'
/// rows by a butterfly reduce-scatter: in the round with mask 16 a lane
/// keeps the half of each 32-column chunk its lane bit 4 names and adds its
/// partner's copy of that half, and so on down to mask 1, after which lane c
/// holds column c of every chunk (31 exchanges per chunk).
template <class Cfg>
struct DecodeCombine {
  using Elem = typename Cfg::Elem;
  static constexpr int kD = Cfg::kHeadDim;
  static constexpr int kThreads = 32;
  static constexpr int kMaxSplits = 64;
  static constexpr int kChunks = kD / 32;  // 32-column chunks: 2 or 4
  static_assert(kD == 64 || kD == 128, "head dim must be 64 or 128");

  /// acc[c] (+)= w * src[c] for one split's row, all loads issued first.
  template <bool kAdd>
  static __device__ __forceinline__ void weigh_row(float (&acc)[kD], const float *src, float w) {
#pragma unroll
    for (int c = 0; c < kD; c += 4) {
      const f32x4 v = load_cg(src + c);
      if constexpr (kAdd) {
        acc[c] += w * v.x, acc[c + 1] += w * v.y, acc[c + 2] += w * v.z, acc[c + 3] += w * v.w;
      } else {
        acc[c] = w * v.x, acc[c + 1] = w * v.y, acc[c + 2] = w * v.z, acc[c + 3] = w * v.w;
      }
    }
  }

  /// One round of the reduce-scatter, lane mask X = 16, 8, 4, 2, 1 in turn.
  /// Entering it, acc[q * 32 + c] (c < 2X) is column B + c of chunk q summed
  /// over the lanes that share this lane's bits below 2X, B being this
  /// lane's bits from 2X up; the lane keeps the half, [0, X) or [X, 2X), that
  /// its bit X names, adds its partner's copy of that half, and stores it at
  /// c < X.
  template <int X>
  static __device__ __forceinline__ void exchange(float (&acc)[kD], int lane) {
    const bool upper = (lane & X) != 0;  // keeps columns [X, 2X) of the 2X
#pragma unroll
    for (int q = 0; q < kChunks; ++q)
#pragma unroll
      for (int c = 0; c < X; ++c) {
        float &lo = acc[q * 32 + c];
        const float hi = acc[q * 32 + c + X];
        const float give = upper ? lo : hi, keep = upper ? hi : lo;
        lo = keep + shfl_xor(give, X);
      }
  }

  /// Loads that bypass L1: in the fused combine the partials were written
  /// by other SMs (L2 is where they are coherent).
  static __device__ __forceinline__ f32x4 load_cg(const float *src) {
    f32x4 v;
    asm volatile("ld.global.cg.v4.f32 {%0, %1, %2, %3}, [%4];\n"
                 : "=f"(v.x), "=f"(v.y), "=f"(v.z), "=f"(v.w)
                 : "l"(src));
    return v;
  }
  static __device__ __forceinline__ float load_cg1(const float *src) {
    float v;
    asm volatile("ld.global.cg.f32 %0, [%1];\n" : "=f"(v) : "l"(src));
    return v;
  }

  /// The combine kernel: one warp per (query, head) cell.
  static __device__ __forceinline__ void run(const sieve_decode_params &p) {
    const int lane = threadIdx.x & 31;
    const long long item = (long long)blockIdx.x * (kThreads / 32) + (threadIdx.x >> 5);
    const long long cells = (long long)p.batch * p.q_len * p.heads;
    if (item >= cells) return;  // whole warps: item is per warp
    const int h = (int)(item % p.heads);
    const int i = (int)((item / p.heads) % p.q_len);
    const int b = (int)(item / ((long long)p.heads * p.q_len));
    const DecodeSeq seq = DecodeSeq::of(p, b);
    if (i >= seq.q_len) return;
    cell(p, seq, b, i, h, lane);
  }

  /// The weights of one cell's splits: lane j reads the LSEs of splits j
  /// and j + 32 and gets w_s = exp(lse_s - m) (0 for an unused split,
  /// whose O is never written nor read), with m = max_s lse_s and
  /// sum = sum_s w_s over the warp.
  static __device__ __forceinline__ void weights(const sieve_decode_params &p, long long item,
                                                 int lane, float (&w)[2], float &m, float &sum) {
    const long long plane = (long long)p.batch * p.q_len * p.heads;  // cells per split
    const int splits = p.splits < kMaxSplits ? p.splits : kMaxSplits;
    float l[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const int s = lane + 32 * r;
      l[r] = s < splits ? load_cg1(p.partial_lse + s * plane + item) : neg_inf();
    }
    m = fmax2(l[0], l[1]);
#pragma unroll
    for (int x = 16; x >= 1; x >>= 1) m = fmax2(m, shfl_xor(m, x));
    sum = 0.f;
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      w[r] = l[r] == neg_inf() ? 0.f : ex2((l[r] - m) * kLog2e);
      sum += w[r];
    }
#pragma unroll
    for (int x = 16; x >= 1; x >>= 1) sum += shfl_xor(sum, x);
  }

  /// The merged LSE of a cell (lane 0 writes it). sum == 0: no split
  /// attended anything (o = 0, lse = -inf); a NaN from the inputs stays
  /// NaN (a test for sum > 0 would turn it into zeros).
  static __device__ __forceinline__ void store_lse(const sieve_decode_params &p,
                                                   const DecodeSeq &seq, int i, int h, int lane,
                                                   float m, float sum) {
    if (p.lse && lane == 0)
      p.lse[(seq.q_row0 + i) * p.heads + h] = sum == 0.f ? neg_inf() : m + lg2(sum) * kLn2;
  }

  /// The fused combine's merge of query i, head h of sequence b, by one
  /// warp: lane c owns kD / 32 adjacent columns and the warp reads the
  /// splits' rows in order, 16 rows in flight per lane. No
  /// reduce-scatter, so a fraction of cell's code, which matters to a
  /// decode kernel whose last CTA fetches it cold.
  static __device__ __forceinline__ void cell_columns(const sieve_decode_params &p,
                                                      const DecodeSeq &seq, int b, int i, int h,
                                                      int lane) {
    constexpr int kPer = kD / 32, kBatch = 16;
    const long long plane = (long long)p.batch * p.q_len * p.heads;
    const long long item = ((long long)b * p.q_len + i) * p.heads + h;
    const int splits = p.splits < kMaxSplits ? p.splits : kMaxSplits;
    float w[2], m, sum;
    weights(p, item, lane, w, m, sum);
    float acc[kPer];
#pragma unroll
    for (int c = 0; c < kPer; ++c) acc[c] = 0.f;
    const float *po = p.partial_o + item * kD + lane * kPer;
    for (int s0 = 0; s0 < splits; s0 += kBatch) {
      float ws[kBatch], v[kBatch][kPer];
#pragma unroll
      for (int u = 0; u < kBatch; ++u) {
        const int s = s0 + u;  // the same in every lane
        const float mine = __shfl_sync(0xffffffffu, (s & 32) ? w[1] : w[0], s & 31);
        ws[u] = s < splits ? mine : 0.f;
        if (ws[u] > 0.f) {
          if constexpr (kPer == 4) {
            const f32x4 x = load_cg(po + s * plane * kD);
            v[u][0] = x.x, v[u][1] = x.y, v[u][2] = x.z, v[u][3] = x.w;
          } else {
            asm volatile("ld.global.cg.v2.f32 {%0, %1}, [%2];\n"
                         : "=f"(v[u][0]), "=f"(v[u][1])
                         : "l"(po + s * plane * kD));
          }
        } else {
#pragma unroll
          for (int c = 0; c < kPer; ++c) v[u][c] = 0.f;
        }
      }
#pragma unroll
      for (int u = 0; u < kBatch; ++u)
#pragma unroll
        for (int c = 0; c < kPer; ++c) acc[c] += ws[u] * v[u][c];
    }
    const float inv = sum == 0.f ? 0.f : 1.f / sum;
    u16 *go = (u16 *)p.o + seq.offset(p, b, i, h, p.o_stride_b, p.o_stride_h, p.o_stride_r) +
              lane * kPer;
#pragma unroll
    for (int c = 0; c < kPer; c += 2) *(u32 *)(go + c) = Elem::pack2(acc[c] * inv, acc[c + 1] * inv);
    store_lse(p, seq, i, h, lane, m, sum);
  }

  /// Merges query i, head h of sequence b: one warp, lane `lane`.
  static __device__ __forceinline__ void cell(const sieve_decode_params &p, const DecodeSeq &seq,
                                              int b, int i, int h, int lane) {
    const long long plane = (long long)p.batch * p.q_len * p.heads;  // cells per split
    const long long item = ((long long)b * p.q_len + i) * p.heads + h;
    float w[2], m, sum;
    weights(p, item, lane, w, m, sum);

    // This lane's splits, weighted: acc = w_j o_j + w_{j+32} o_{j+32}.
    float acc[kD];
    const float *po = p.partial_o + item * kD;
    if (w[0] > 0.f) weigh_row<false>(acc, po + (long long)lane * plane * kD, w[0]);
    else {
#pragma unroll
      for (int c = 0; c < kD; ++c) acc[c] = 0.f;
    }
    if (w[1] > 0.f) weigh_row<true>(acc, po + (long long)(lane + 32) * plane * kD, w[1]);

    exchange<16>(acc, lane);
    exchange<8>(acc, lane);
    exchange<4>(acc, lane);
    exchange<2>(acc, lane);
    exchange<1>(acc, lane);
    // Lane c now holds column q * 32 + c in acc[q * 32]; even lanes pair it
    // with the next lane's column and store both.
    const float inv = sum == 0.f ? 0.f : 1.f / sum;
    u16 *go = (u16 *)p.o + seq.offset(p, b, i, h, p.o_stride_b, p.o_stride_h, p.o_stride_r);
#pragma unroll
    for (int q = 0; q < kChunks; ++q) {
      const float mine = acc[q * 32] * inv, next = shfl_xor(mine, 1);
      if ((lane & 1) == 0) *(u32 *)(go + q * 32 + lane) = Elem::pack2(mine, next);
    }
    store_lse(p, seq, i, h, lane, m, sum);
  }
};


template <class Cfg, class Pattern, class Kv>
struct DecodeSm80 {
  using Math = FwdSm80<DecodeWarpCfg<Cfg>, Pattern, Kv>;  // one warp's slice
  using Elem = typename Math::Elem;
  static constexpr int kD = Math::kD, kTQ = Cfg::kTileQ, kTK = Cfg::kTileK;
  static constexpr int kWarps = Cfg::kWarps, kWK = Math::kTK;
#ifdef SIEVE_DECODE_STAGES  // an NVRTC -D, for measuring the pipeline's depth
  static constexpr int kStages = SIEVE_DECODE_STAGES;
#else
  static constexpr int kStages = Cfg::kStages;
#endif
  static constexpr int kThreads = Math::kThreads, kChunks = Math::kChunks, kMinBlocks = 1;
  static constexpr int kQBytes = kTQ * kD * 2, kKVBytes = kTK * kD * 2;
  static constexpr int kSmemBytes = kQBytes + 2 * kStages * kKVBytes;
  static constexpr int kStep = kThreads / kChunks;  // rows per copy step
  static constexpr int kCombineThreads = DecodeCombine<Cfg>::kThreads;
  // The epilogue's merge: each warp's O rows (padded against bank
  // conflicts), maxima and sums, over the dead stages.
  static constexpr int kRedStride = kD + 8;
  static constexpr int kRedBytes = (kWarps * 16 * kRedStride + 2 * kWarps * 16) * 4;
  static_assert(kTQ == 16 && Math::kMT == 1, "a decode row tile is one 16-row mma tile");
  static_assert(kWK * kWarps == kTK, "the warps split the key tile evenly");
  static_assert(kRedBytes <= kSmemBytes - kQBytes, "the merge fits in the K/V stages");
  static_assert(kTK % kStep == 0 && kTQ % kStep == 0, "whole copy steps");
  static_assert(Cfg::kMinSplitTiles >= 1, "a split takes at least one tile");

  static constexpr sieve_launch_info launch_info() {
    return {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_DECODE, Kv::kAbi, Elem::kAbi, kD, kTQ, kTK,
            kThreads, kSmemBytes, kCombineThreads};
  }

  /// Copies K and V rows [row0, row0 + kTK) of the sequence into swizzled
  /// tiles; rows at or past len (or on a bad page) are zero-filled.
  static __device__ __forceinline__ void load_kv(u32 dk, u32 dv, const Kv &kv, int row0, int len,
                                                 int tid) {
    const int r0 = tid / kChunks, ch = tid % kChunks;
    const u32 off = sm80::swz<kChunks>(r0, ch);
#ifndef SIEVE_DECODE_ROW_ADDRESSES
    if constexpr (Kv::kAbi == SIEVE_ABI_KV_DENSE) {
      // Dense rows are evenly spaced: one address per thread and tile, then
      // a step per copy. (Addressing every row through the policy, as paged
      // KV must, spent ~280 instructions per warp on each tile's copies, a
      // third of a short step's: an H200 profile, docs/performance.md.)
      const int first = row0 + r0, left = len - first;  // this thread's rows still in range
      const u16 *kr = kv.k_row(first) + ch * 8, *vr = kv.v_row(first) + ch * 8;
      const long long ks = kv.k_step(kStep), vs = kv.v_step(kStep);
#pragma unroll
      for (int i = 0; i < kTK / kStep; ++i, kr += ks, vr += vs) {
        const bool in = i * kStep < left;
        u32 d;
        if constexpr (kStep % 8 == 0) d = off + i * kStep * kChunks * 16;
        else d = sm80::swz<kChunks>(r0 + i * kStep, ch);
        // Rows past the keys zero-fill; the tensor's start stands in for
        // their address (src-size 0 reads nothing).
        sm80::cp_async16(dk + d, in ? kr : kv.k, in);
        sm80::cp_async16(dv + d, in ? vr : kv.v, in);
      }
      return;
    }
#endif
#pragma unroll
    for (int i = 0; i < kTK / kStep; ++i) {
      const int r = row0 + r0 + i * kStep;
      const u16 *kr = nullptr, *vr = nullptr;
      if (r < len) kv.rows(r, kr, vr);
      // A null row zero-fills (src-size 0 reads nothing); any valid address
      // stands in for it. Steps of 8 rows keep the swizzle (r & 7) of row
      // r0; narrower CTAs (tiles of 16 or 32 keys: 1 or 2 warps) swizzle
      // each row.
      u32 d;
      if constexpr (kStep % 8 == 0) d = off + i * kStep * kChunks * 16;
      else d = sm80::swz<kChunks>(r0 + i * kStep, ch);
      sm80::cp_async16(dk + d, kr ? kr + ch * 8 : (const u16 *)kv.k, kr != nullptr);
      sm80::cp_async16(dv + d, vr ? vr + ch * 8 : (const u16 *)kv.v, vr != nullptr);
    }
  }

  static __device__ __forceinline__ void run(const sieve_decode_params &p) {
    extern __shared__ __align__(128) unsigned char smem[];
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int split = blockIdx.x % p.splits, row_tile = blockIdx.x / p.splits;
    const int kvh = blockIdx.y, b = blockIdx.z;
    const int group = p.heads / p.kv_heads;
    const DecodeSeq seq = DecodeSeq::of(p, b);
    const int r_first = row_tile * kTQ;  // first packed row of this tile
    const int rows = seq.q_len * group;
    if (r_first >= rows) return;  // past this sequence's queries
    const int i_first = r_first / group;
    const int i_last = walk::min_((r_first + kTQ - 1) / group, seq.q_len - 1);
    const long long q_off = (long long)seq.k_len - seq.q_len;  // position of query 0

    // This thread's two rows (h = 0, 1) and their positions, the same in
    // every warp; padding rows take the last query's position (computed,
    // never written).
    int my_i[2], my_h[2];
    bool my_ok[2];
    long long my_pos[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int pr = r_first + (lane >> 2) + h * 8;
      my_ok[h] = pr < rows;
      my_i[h] = my_ok[h] ? pr / group : seq.q_len - 1;
      my_h[h] = kvh * group + (my_ok[h] ? pr % group : 0);
      my_pos[h] = q_off + my_i[h];
    }

    using Rules = typename Pattern::template Rules<false>;
    auto rows_walk = [&] {  // the walk of this tile's query positions over the keys
      return walk::TileWalk<Rules>(Rules(walk::Rows::make(q_off + i_first, q_off + i_last,
                                                          Pattern::kBlockQ, Pattern::kBlockK,
                                                          seq.k_len)),
                                   0, kTK, seq.k_len);
    };
    walk::TileWalk<Rules> tiles = rows_walk();

    // Split-KV: this split's share of the walk. Warp 0's lanes count a
    // chunk of the key tiles each, by passing over every tile of it
    // (next_after with kInf to skip) in the loop's round -1, and a warp scan
    // of the counts places the split (as walk::place_split_counted); the
    // first fetch skips to its first tile.
    const bool counting = p.splits > 1;
    long long remaining = walk::kInf;  // tiles this split still takes
    bool unused = false;               // a split past the walk's share: no tiles
    walk::i64 skip = 0;                // tiles the next fetch passes over
    if (counting && warp == 0) {
      walk::i64 c0, c1;
      walk::chunk_range(tiles.tiles(), lane, 32, c0, c1);
      tiles = tiles.chunk(c0, c1);
      skip = walk::kInf;  // an empty chunk ends at once: a count of 0
    }

    const Kv kv = Kv::make(p, b, kvh);
    const u32 s_q = smem_addr(smem);
    const u32 s_k = s_q + kQBytes;
    const u32 s_v = s_k + kStages * kKVBytes;

    // The packed Q rows ride in the first copy group, with the first tile
    // (and, split, under the count).
    {
      const int r0 = tid / kChunks, ch = tid % kChunks;
      const u16 *gq = (const u16 *)p.q;
#pragma unroll
      for (int i = 0; i < kTQ / kStep; ++i) {
        const int r = r0 + i * kStep, pr = r_first + r;
        const bool ok = pr < rows;
        const u16 *src = gq;
        if (ok)
          src += seq.offset(p, b, pr / group, kvh * group + pr % group, p.q_stride_b, p.q_stride_h,
                            p.q_stride_r) + ch * 8;
        sm80::cp_async16(s_q + sm80::swz<kChunks>(r, ch), src, ok);
      }
    }

    // One loop issues every tile, the prologue's included, so the walk's
    // tile fetch (for PowerAttention the largest piece of code in the
    // kernel) is inlined once: a short decode CTA fetches its code cold on
    // every SM (docs/decode.md). The first kStages - 1 rounds only issue;
    // every later one takes the oldest tile, waits for it, issues the next
    // into the stage the previous round freed and computes.
    TileQueue<kStages - 1> queue;
    typename Math::Warp w;
    w.init(lane);
    const float sl2 = p.scale * kLog2e;
    const u32 slice = (u32)(warp * kWK * kChunks * 16);  // this warp's keys in a stage
    int load_stage = 0, stage = 0;
#pragma unroll 1
    for (int round = counting ? -1 : 0;; ++round) {
      const bool warm = round >= kStages - 1;
      int tile = -1;
      bool full = false;
      if (warm) {
        queue.front(tile, full);
        if (tile < 0) break;
        sm80::cp_async_wait<kStages - 2>();
        __syncthreads();
        if (round == kStages - 1) {  // Q rode in the first group
#pragma unroll
          for (int kk = 0; kk < kD / 16; ++kk)
            sm80::ldsm_x4(w.qf[kk], s_q + w.voff[kk & 3] + (kk >> 2) * 128);
        }
      }
      {  // this split's next tile, if any, into load_stage (round -1: the count)
        int t = -1;
        bool f = false;
        const bool got = (round < 0 ? warp == 0 : remaining > 0) && tiles.next_after(skip, t, f);
        if (round < 0) {
          // Warp 0 scans its lanes' counts (a count never takes a tile:
          // kInf - skip is the chunk's) and names the chunk holding the
          // split's first tile, as walk::place_split_counted does (which
          // the host tests), without 32 dependent shared-memory reads.
          __shared__ walk::i64 s_place[3];  // tiles taken, the chunk, tiles before it
          if (warp == 0) {
            const int mine = (int)(walk::kInf - skip);
            int incl = mine;  // tiles in chunks 0..lane
#pragma unroll
            for (int d = 1; d < 32; d <<= 1) {
              const int up = __shfl_up_sync(0xffffffffu, incl, d);
              if (lane >= d) incl += up;
            }
            const int total = __shfl_sync(0xffffffffu, incl, 31);
            walk::i64 first, last;
            const walk::i64 n =
                walk::split_share(total, split, p.splits, Cfg::kMinSplitTiles, first, last);
            const unsigned past = __ballot_sync(0xffffffffu, incl > first);
            if (lane == (past ? __ffs(past) - 1 : 31))
              s_place[0] = n, s_place[1] = lane, s_place[2] = first - (incl - mine);
          }
          __syncthreads();
          tiles = rows_walk();
          remaining = s_place[0];
          if (remaining > 0) {
            walk::i64 c0, c1;
            walk::chunk_range(tiles.tiles(), s_place[1], 32, c0, c1);
            tiles.seek(c0);
            skip = s_place[2];
          }
          if (remaining == 0) {  // an unused split: say so to the combine
            if ((lane & 3) == 0)
#pragma unroll
              for (int h = 0; h < 2; ++h)
                if (my_ok[h])
                  p.partial_lse[((long long)split * p.batch * p.q_len + (long long)b * p.q_len +
                                 my_i[h]) * p.heads + my_h[h]] = neg_inf();
            unused = true;
            break;  // to the ticket, past the merge
          }
          continue;
        }
        if (got) {
          --remaining;
          load_kv(s_k + load_stage * kKVBytes, s_v + load_stage * kKVBytes, kv, t * kTK,
                  seq.k_len, tid);
        } else {
          remaining = 0, t = -1;
        }
        queue.push(t, f);
        sm80::cp_async_commit();
        load_stage = load_stage + 1 == kStages ? 0 : load_stage + 1;
      }
      if (!warm) continue;
      typename Math::Slice s[1];
      Math::qk(s, w, s_q, s_k + stage * kKVBytes + slice, 0);
      if (needs_mask<kTK>(tile, full, seq.k_len))
        mask_rows<Pattern>(s[0], tile * kTK + warp * kWK, seq.k_len, my_pos[0], my_pos[1], lane);
      Math::softmax_pv(s, w, s_v + stage * kKVBytes + slice, sl2);
      stage = stage + 1 == kStages ? 0 : stage + 1;
    }
    sm80::cp_async_commit();  // an unused split's Q copies are in no group yet
    sm80::cp_async_wait<0>();
    __syncthreads();  // every warp is past its last stage: the merge reuses them
    if (!unused)  // an unused split has written its -inf LSE
      merge_and_store(p, w, seq, b, split, r_first, rows, group, kvh, lane, warp,
                      (float *)(smem + kQBytes));
    if (p.splits > 1 && p.tickets) combine_if_last(p, seq, b, kvh, row_tile, r_first, rows, group);
  }

  /// The fused combine. Every split CTA of a row tile, used or not, takes a
  /// ticket after writing its partials; the one that takes the last merges
  /// the splits of the tile's rows, one warp per row (DecodeCombine::cell_columns),
  /// so no combine kernel runs. atom.inc wraps the ticket to 0 at the last
  /// (splits - 1), which leaves the tickets zeroed for the next launch.
  /// Thread 0 takes the ticket with acq_rel semantics at GPU scope between
  /// two barriers: the release carries the CTA's partials (ordered before
  /// it by the first barrier) and, in the last CTA, the acquire orders the
  /// other splits' partials before every thread's reads (after the second
  /// barrier; they go to L2). One fence per CTA, not one per warp.
  static __device__ __forceinline__ void combine_if_last(const sieve_decode_params &p,
                                                         const DecodeSeq &seq, int b, int kvh,
                                                         int row_tile, int r_first, int rows,
                                                         int group) {
    __shared__ int s_last;
    __syncthreads();  // the CTA's partials are written
    if (threadIdx.x == 0) {
      const long long t =
          ((long long)b * p.kv_heads + kvh) * (long long)(gridDim.x / p.splits) + row_tile;
      unsigned old;
      asm volatile("atom.acq_rel.gpu.global.inc.u32 %0, [%1], %2;\n"
                   : "=r"(old)
                   : "l"(p.tickets + t), "r"((unsigned)p.splits - 1)
                   : "memory");
      s_last = old == (unsigned)p.splits - 1;
    }
    __syncthreads();  // the last CTA's threads read after the acquire
    if (!s_last) return;
    const int lane = threadIdx.x & 31, n = walk::min_(kTQ, rows - r_first);
    for (int r = threadIdx.x >> 5; r < n; r += kWarps) {
      const int pr = r_first + r;
      DecodeCombine<Cfg>::cell_columns(p, seq, b, pr / group, kvh * group + pr % group, lane);
    }
  }

  /// The epilogue: merges the warps' online-softmax states row by row
  /// (m = max_w m_w, O = sum_w 2^(m_w - m) O_w, l likewise) and writes O and
  /// LSE, or the split's normalised fp32 partial O and LSE.
  static __device__ __forceinline__ void merge_and_store(const sieve_decode_params &p,
                                                         typename Math::Warp &w,
                                                         const DecodeSeq &seq, int b, int split,
                                                         int r_first, int rows, int group, int kvh,
                                                         int lane, int warp, float *red) {
    float *red_m = red + kWarps * 16 * kRedStride, *red_l = red_m + kWarps * 16;
    const int c0 = (lane & 3) * 2;  // this thread's first column in each 8-column group
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int r = (lane >> 2) + h * 8;
      float l = w.st[0].l[h];
      l += shfl_xor(l, 1);
      l += shfl_xor(l, 2);
      if ((lane & 3) == 0) red_m[warp * 16 + r] = w.st[0].m[h], red_l[warp * 16 + r] = l;
      float *dst = red + (warp * 16 + r) * kRedStride + c0;
#pragma unroll
      for (int j = 0; j < kD / 8; ++j) {
        f32x2 v;
        v.x = w.o[0][j * 4 + h * 2], v.y = w.o[0][j * 4 + h * 2 + 1];
        *(f32x2 *)(dst + j * 8) = v;
      }
    }
    __syncthreads();

    // Thread t finishes row t / kPerRow, columns kCols (t % kPerRow) onward.
    constexpr int kPerRow = kThreads / 16, kCols = kD / kPerRow;
    static_assert(kThreads % 16 == 0 && kCols % 4 == 0, "whole float4 columns per thread");
    const int r = threadIdx.x / kPerRow, col = (threadIdx.x % kPerRow) * kCols;
    const int pr = r_first + r;
    if (pr >= rows) return;
    float m = neg_inf();
#pragma unroll
    for (int x = 0; x < kWarps; ++x) m = fmax2(m, red_m[x * 16 + r]);
    float f[kWarps], l = 0.f;
#pragma unroll
    for (int x = 0; x < kWarps; ++x) {
      // A warp whose keys this row never attended (m -inf) holds zeros.
      const float mx = red_m[x * 16 + r];
      f[x] = mx == neg_inf() ? 0.f : ex2(mx - m);
      l += f[x] * red_l[x * 16 + r];
    }
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const float lse = l > 0.f ? (m + lg2(l)) * kLn2 : neg_inf();
    float o[kCols];
#pragma unroll
    for (int c = 0; c < kCols; ++c) {
      float acc = 0.f;
#pragma unroll
      for (int x = 0; x < kWarps; ++x) acc += f[x] * red[(x * 16 + r) * kRedStride + col + c];
      o[c] = acc * inv;
    }
    const int i = pr / group, hd = kvh * group + pr % group;
    const bool lead = threadIdx.x % kPerRow == 0;
    if (p.splits == 1) {
      u16 *go =
          (u16 *)p.o + seq.offset(p, b, i, hd, p.o_stride_b, p.o_stride_h, p.o_stride_r) + col;
#pragma unroll
      for (int c = 0; c < kCols; c += 2) *(u32 *)(go + c) = Elem::pack2(o[c], o[c + 1]);
      if (p.lse && lead) p.lse[(seq.q_row0 + i) * p.heads + hd] = lse;
    } else {
      const long long cell =
          ((long long)split * p.batch * p.q_len + (long long)b * p.q_len + i) * p.heads + hd;
      float *po = p.partial_o + cell * kD + col;
#pragma unroll
      for (int c = 0; c < kCols; c += 4)
        *(f32x4 *)(po + c) = f32x4{o[c], o[c + 1], o[c + 2], o[c + 3]};
      if (lead) p.partial_lse[cell] = lse;
    }
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_DECODE_SM80_CUH
