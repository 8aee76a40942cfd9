//===- SieveFwdSm80.cuh - sparse forward attention, mma.sync path -*- CUDA -*-===//
//
// FlashAttention-2-style forward pass for sm_80 and plain sm_90: mma.sync m16n8k16
// (bf16 or fp16 in, fp32 accumulate), ldmatrix from XOR-swizzled shared memory,
// cp.async multi-stage pipelining of K/V tiles, online softmax in the exp2 domain,
// natural-log LSE out. Self-contained: no CUDA toolkit header is included, so NVRTC
// compiles it with no include path.
//
// ---- Configuration (defined by the generated prelude BEFORE this file) -----------
//   SIEVE_HEAD_DIM                 64 or 128
//   SIEVE_DTYPE_BF16 | SIEVE_DTYPE_FP16
//   SIEVE_TILE_Q, SIEVE_TILE_K     query rows / keys per tile. Defaults for codegen,
//                                  measured on H100 (bench/kernel_dev/NOTES.md):
//                                    hd128: TILE_Q 128, TILE_K 64 (4 warps x 32 rows)
//                                    hd64 : TILE_Q 64,  TILE_K 64 (4 warps x 16 rows)
//                                  TILE_K must divide the pattern block for exact
//                                  full/partial tags from the walk.
//   SIEVE_FWD_WARPS   (optional)   warps per block; each warp owns TILE_Q/WARPS rows
//                                  (16 or 32). Default 4.
//   SIEVE_FWD_STAGES  (optional)   K/V shared-memory stages (>= 2). Default 2.
//   SIEVE_FWD_Q_IN_REGS (optional) 1: Q fragments held in registers for the whole
//                                  walk; 0: re-read from shared memory per key tile.
//                                  Default: 1 when a warp owns 16 rows.
//   SIEVE_FWD_OVERLAP (optional)    1: software-pipeline S(j+1) = Q K(j+1)^T against the
//                                  softmax and P V of tile j (needs STAGES >= 3).
//   SIEVE_FWD_MIN_BLOCKS (optional) __launch_bounds__ blocks per SM (register cap).
//   SIEVE_GEN_PRELUDE              set by the prelude, which defines in namespace
//                                  sieve_gen: bool mask(long long q, long long k) and
//                                  struct Walk { Walk(q_begin, q_end, k_len);
//                                  bool next(int &tile, bool &full); } (DESIGN.md).
//
// ---- Launch contract --------------------------------------------------------------
//   kernel  : extern "C" sieve_attention_fwd(SieveFwdParams p), params by value.
//   grid    : x = ceil(q_len / SIEVE_TILE_Q) query tiles, y = heads, z = batch.
//             Block x runs query tile (gridDim.x - 1 - x): later (longer causal) tiles
//             are dispatched first; neighbouring tiles of one head run together, so
//             their shared window key tiles are re-read from L2.
//   block   : SIEVE_FWD_THREADS threads (1-D).
//   dynamic shared memory: SIEVE_FWD_SMEM_BYTES; above 48 KiB the host must raise
//             CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES first.
//   The same numbers are readable from the loaded module as the __constant__ array
//   sieve_fwd_launch_info = {threads, smem_bytes, tile_q, tile_k, head_dim, is_fp16}
//   (cuModuleGetGlobal), which the runtime also uses to validate launches.
//   Tensors: the last dimension of q, k, v, o is contiguous; 16-byte aligned rows
//   (row strides multiples of 8 elements). lse is float32 [batch, heads, q_len],
//   contiguous, or null. Query i sits at absolute position k_len - q_len + i.
//   Rows with no attended key produce o = 0 and lse = -inf.
//
// Another template (e.g. a wgmma path) can implement the same entry point, params
// struct, macros and launch-info array; the host only depends on those.
//===----------------------------------------------------------------------------===//

#ifndef SIEVE_HEAD_DIM
#error "SieveFwdSm80.cuh: SIEVE_HEAD_DIM must be defined (64 or 128) before inclusion"
#endif
#if SIEVE_HEAD_DIM != 64 && SIEVE_HEAD_DIM != 128
#error "SieveFwdSm80.cuh: SIEVE_HEAD_DIM must be 64 or 128"
#endif
#if defined(SIEVE_DTYPE_BF16) == defined(SIEVE_DTYPE_FP16)
#error "SieveFwdSm80.cuh: define exactly one of SIEVE_DTYPE_BF16 / SIEVE_DTYPE_FP16"
#endif
#if !defined(SIEVE_TILE_Q) || !defined(SIEVE_TILE_K)
#error "SieveFwdSm80.cuh: SIEVE_TILE_Q and SIEVE_TILE_K must be defined before inclusion"
#endif
#ifndef SIEVE_FWD_COMMON
#error "SieveFwdSm80.cuh: include SieveFwdCommon.cuh first"
#endif
#ifndef SIEVE_GEN_PRELUDE
#error "SieveFwdSm80.cuh: include the generated prelude (sieve_gen::mask, sieve_gen::Walk) first"
#endif
#ifndef SIEVE_FWD_WARPS
#define SIEVE_FWD_WARPS 4
#endif
#ifndef SIEVE_FWD_STAGES
#define SIEVE_FWD_STAGES 2
#endif
#ifndef SIEVE_FWD_OVERLAP
#define SIEVE_FWD_OVERLAP 0
#endif
#ifndef SIEVE_FWD_MIN_BLOCKS
#define SIEVE_FWD_MIN_BLOCKS 1
#endif

#define SIEVE_FWD_THREADS (SIEVE_FWD_WARPS * 32)
#define SIEVE_FWD_SMEM_BYTES \
  ((SIEVE_TILE_Q + 2 * SIEVE_FWD_STAGES * SIEVE_TILE_K) * SIEVE_HEAD_DIM * 2)

extern "C" __constant__ int sieve_fwd_launch_info[6] = {
    SIEVE_FWD_THREADS, SIEVE_FWD_SMEM_BYTES, SIEVE_TILE_Q, SIEVE_TILE_K, SIEVE_HEAD_DIM,
    SIEVE_FWD_IS_FP16};

namespace sieve_fwd {


constexpr int kD = SIEVE_HEAD_DIM;
constexpr int kTQ = SIEVE_TILE_Q;
constexpr int kTK = SIEVE_TILE_K;
constexpr int kWarps = SIEVE_FWD_WARPS;
constexpr int kThreads = kWarps * 32;
constexpr int kStages = SIEVE_FWD_STAGES;
constexpr int kRowsPerWarp = kTQ / kWarps;
constexpr int kMT = kRowsPerWarp / 16;  // 16-row mma tiles per warp
constexpr int kChunks = kD / 8;         // 16-byte chunks per row
constexpr int kQBytes = kTQ * kD * 2;
constexpr int kKVBytes = kTK * kD * 2;  // one K (or V) stage
// Q fragments live in registers when a warp owns 16 rows; with 32 rows they are
// re-read from shared memory each key tile (saves 64 registers per thread).
#ifdef SIEVE_FWD_Q_IN_REGS
constexpr bool kQInRegs = SIEVE_FWD_Q_IN_REGS;
#else
constexpr bool kQInRegs = (kMT == 1);
#endif
constexpr float kRescaleSlack = 8.f;

static_assert(kRowsPerWarp % 16 == 0 && kMT >= 1 && kMT <= 2, "rows per warp must be 16 or 32");
static_assert(kTK % 16 == 0 && kTK >= 16 && kTK <= 128, "SIEVE_TILE_K must be 16..128, multiple of 16");
static_assert(kStages >= 2, "need at least two K/V stages");
static_assert((kTK * kChunks) % kThreads == 0 && (kTQ * kChunks) % kThreads == 0,
              "tile chunk counts must divide the thread count");

// Byte offset of 16-byte chunk c of row r in a [rows][kChunks] tile. XOR with the
// low row bits spreads the 8 rows an ldmatrix phase reads over all 32 banks.
__device__ __forceinline__ u32 swz(int r, int c) {
  return (u32)((r * kChunks + (c ^ (r & 7))) * 16);
}

template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldsm_x4(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

__device__ __forceinline__ void mma16816(float (&c)[4], const u32 (&a)[4], u32 b0, u32 b1) {
#if defined(SIEVE_DTYPE_BF16)
  asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
  asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
      "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

/// Copies rows [row0, row0 + rows) of a [len][kD] matrix into a swizzled tile;
/// rows at or past len are zero-filled (so padded V rows never inject NaN).
template <int kRows>
__device__ __forceinline__ void load_tile(u32 dst, const u16 *src, long long stride_r,
                                          int row0, int len, int tid) {
  // Thread tid always copies chunk (tid % kChunks) of rows r0, r0 + kStep, ...; kStep
  // is a multiple of 8, so the swizzle is the same for all of them and the shared
  // address advances by an immediate, the global one by one 64-bit add.
  constexpr int kStep = kThreads / kChunks;
  static_assert(kThreads % kChunks == 0 && kStep % 8 == 0, "need >= 8 rows per copy step");
  const int r0 = tid / kChunks, ch = tid % kChunks;
  const u16 *g = src + (long long)(row0 + r0) * stride_r + ch * 8;
  const long long gstep = (long long)kStep * stride_r;
  const u32 d = dst + swz(r0, ch);
#pragma unroll
  for (int i = 0; i < kRows / kStep; ++i) {
    const bool in = row0 + r0 + i * kStep < len;
    // Rows past len: src-size 0 zero-fills and reads nothing, so g is never dereferenced.
    cp_async16(d + i * kStep * kChunks * 16, g, in);
    g += gstep;
  }
}

/// Per-warp state of the math: this warp's rows, Q fragments, O accumulators and the
/// running max / sum of the online softmax (two rows per thread per 16-row tile).
struct WarpMath {
  u32 qf[kQInRegs ? kMT * kD / 16 : 1][4];
  float o[kMT][kD / 8][4];
  float m_run[kMT][2], l_run[kMT][2];
  // Per-lane ldmatrix byte offsets, so every fragment address is register + immediate.
  // The swizzle XORs chunk bits 0-2 with (row & 7) = (lane & 7); chunk bit 3 passes
  // through, so 4 offsets (chunk pair index & 3) cover both head dims.
  u32 koff[4];  // K (B operand, non-transposed): rows (lane&7) + (lane>>4)*8
  u32 voff[4];  // V (transposed) and Q (A operand): rows (lane&7) + ((lane>>3)&1)*8
};

__device__ __forceinline__ void init_offsets(u32 (&koff)[4], u32 (&voff)[4], int lane) {
  const int x = lane & 7;
  const int rk = x + (lane >> 4) * 8, bk = (lane >> 3) & 1;
  const int rv = x + ((lane >> 3) & 1) * 8, bv = lane >> 4;
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    koff[j] = (u32)((rk * kChunks + ((2 * j + bk) ^ x)) * 16);
    voff[j] = (u32)((rv * kChunks + ((2 * j + bv) ^ x)) * 16);
  }
}
typedef float STile[kMT][kTK / 8][4];

/// s = Q K^T for this warp's rows against the K tile at sk.
__device__ __forceinline__ void qk(STile &s, const WarpMath &w, u32 s_q, u32 sk, int wrow, int lane) {
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int j = 0; j < kTK / 8; ++j) s[mt][j][0] = s[mt][j][1] = s[mt][j][2] = s[mt][j][3] = 0.f;
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    u32 a[kMT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      if (kQInRegs) {
#pragma unroll
        for (int i = 0; i < 4; ++i) a[mt][i] = w.qf[kQInRegs ? mt * kD / 16 + kk : 0][i];
      } else {
        ldsm_x4(a[mt], s_q + (wrow + mt * 16) * kChunks * 16 + w.voff[kk & 3] + (kk >> 2) * 128);
      }
    }
#pragma unroll
    for (int n2 = 0; n2 < kTK / 16; ++n2) {
      u32 bk[4];
      ldsm_x4(bk, sk + n2 * 16 * kChunks * 16 + w.koff[kk & 3] + (kk >> 2) * 128);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        mma16816(s[mt][2 * n2], a[mt], bk[0], bk[1]);
        mma16816(s[mt][2 * n2 + 1], a[mt], bk[2], bk[3]);
      }
    }
  }
}

/// Element mask (partial tiles and tiles crossing the key end): masked scores -> -inf.
__device__ __forceinline__ void apply_mask(STile &s, int tile, bool full, int k_len,
                                           long long qrow0, int lane) {
  const int k0 = tile * kTK;
  if (full && k0 + kTK <= k_len) return;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const long long qp = qrow0 + mt * 16 + (lane >> 2) + hh * 8;
#pragma unroll
      for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          const int kp = k0 + j * 8 + (lane & 3) * 2 + e;
          if (!(kp < k_len && sieve_gen::mask(qp, (long long)kp))) s[mt][j][hh * 2 + e] = neg_inf();
        }
    }
}

/// Online softmax of s (log2 domain, sl2 = scale * log2 e), then O += P V (V tile at sv).
__device__ __forceinline__ void softmax_pv(STile &s, WarpMath &w, u32 sv, float sl2, int lane) {
  float mxs[kMT][2];
  bool need = false;
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float mx = neg_inf();
#pragma unroll
      for (int j = 0; j < kTK / 8; ++j) mx = fmax2(mx, fmax2(s[mt][j][hh * 2], s[mt][j][hh * 2 + 1]));
      mx = fmax2(mx, shfl_xor(mx, 1));
      mx = fmax2(mx, shfl_xor(mx, 2));
      mxs[mt][hh] = mx * sl2;
      // Lazy rescale: keep the stale reference max until a row's max grows by more
      // than kRescaleSlack (log2 units); P then stays <= 2^slack, safe in fp32/bf16/fp16.
      need |= mxs[mt][hh] > w.m_run[mt][hh] + kRescaleSlack;
    }
  if (__any_sync(0xffffffffu, need)) {
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        const float m_new = fmax2(w.m_run[mt][hh], mxs[mt][hh]);
        // m_new == -inf: row fully masked so far, nothing accumulated (avoid inf - inf)
        const float alpha = m_new == neg_inf() ? 1.f : ex2(w.m_run[mt][hh] - m_new);
        w.m_run[mt][hh] = m_new;
        w.l_run[mt][hh] *= alpha;
#pragma unroll
        for (int j = 0; j < kD / 8; ++j) {
          w.o[mt][j][hh * 2] *= alpha;
          w.o[mt][j][hh * 2 + 1] *= alpha;
        }
      }
  }
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      // m_run == -inf only if every score of the row so far is -inf: p = ex2(-inf) = 0
      const float m_use = w.m_run[mt][hh] == neg_inf() ? 0.f : w.m_run[mt][hh];
      float sum = 0.f;
#pragma unroll
      for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
          float pv = ex2(s[mt][j][hh * 2 + e] * sl2 - m_use);
          s[mt][j][hh * 2 + e] = pv;
          sum += pv;
        }
      w.l_run[mt][hh] += sum;
    }
#pragma unroll
  for (int kk = 0; kk < kTK / 16; ++kk) {
    u32 a[kMT][4];
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt) {
      a[mt][0] = pack2(s[mt][2 * kk][0], s[mt][2 * kk][1]);
      a[mt][1] = pack2(s[mt][2 * kk][2], s[mt][2 * kk][3]);
      a[mt][2] = pack2(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
      a[mt][3] = pack2(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
    }
#pragma unroll
    for (int d2 = 0; d2 < kD / 16; ++d2) {
      u32 bv[4];
      ldsm_x4_t(bv, sv + kk * 16 * kChunks * 16 + w.voff[d2 & 3] + (d2 >> 2) * 128);
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt) {
        mma16816(w.o[mt][2 * d2], a[mt], bv[0], bv[1]);
        mma16816(w.o[mt][2 * d2 + 1], a[mt], bv[2], bv[3]);
      }
    }
  }
}

}  // namespace sieve_fwd

extern "C" __global__ void __launch_bounds__(SIEVE_FWD_THREADS, SIEVE_FWD_MIN_BLOCKS)
    sieve_attention_fwd(const SieveFwdParams p) {
  using namespace sieve_fwd;
  extern __shared__ __align__(128) unsigned char smem[];

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int qt = gridDim.x - 1 - blockIdx.x;
  const int h = blockIdx.y, b = blockIdx.z;
  const int kvh = h / (p.heads / p.kv_heads);
  const int q0 = qt * kTQ;  // first query row (index into q) of this tile
  const long long q_off = (long long)p.k_len - p.q_len;  // absolute position of row 0

  const u16 *gq = (const u16 *)p.q + b * p.q_stride_b + h * p.q_stride_h;
  const u16 *gk = (const u16 *)p.k + b * p.k_stride_b + kvh * p.k_stride_h;
  const u16 *gv = (const u16 *)p.v + b * p.v_stride_b + kvh * p.v_stride_h;

  const u32 s_q = smem_addr(smem);
  const u32 s_k = s_q + kQBytes;
  const u32 s_v = s_k + kStages * kKVBytes;

  const long long qpos_begin = q_off + q0;
  long long qpos_end = qpos_begin + kTQ;
  if (qpos_end > p.k_len) qpos_end = p.k_len;
  const int wrow = warp * kRowsPerWarp;  // first row of this warp within the tile
  const long long qrow0 = qpos_begin + wrow;

  // One walk; tiles handed to the loader but not yet consumed by the math wait in a
  // register queue (compile-time indexed). Tile i lives in stage i % kStages.
  sieve_gen::Walk walk(qpos_begin, qpos_end, p.k_len);
  bool more = true;
  int ptile[kStages - 1];
  bool pfull[kStages - 1];
  int wstage = 0;
  auto issue = [&](int slot) {
    int t = -1;
    bool f = false;
    more = more && walk.next(t, f);
    if (more) {
      load_tile<kTK>(s_k + wstage * kKVBytes, gk, p.k_stride_r, t * kTK, p.k_len, tid);
      load_tile<kTK>(s_v + wstage * kKVBytes, gv, p.v_stride_r, t * kTK, p.k_len, tid);
    } else {
      t = -1;
    }
    ptile[slot] = t;
    pfull[slot] = f;
    cp_async_commit();
    wstage = wstage + 1 == kStages ? 0 : wstage + 1;
  };

  // Prologue: Q rides in group 0 with tile 0; tiles 0..kStages-2 are in flight.
  load_tile<kTQ>(s_q, gq + (long long)q0 * p.q_stride_r, p.q_stride_r, 0, p.q_len - q0, tid);
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) issue(i);

  WarpMath w;
  init_offsets(w.koff, w.voff, lane);
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int j = 0; j < kD / 8; ++j) w.o[mt][j][0] = w.o[mt][j][1] = w.o[mt][j][2] = w.o[mt][j][3] = 0.f;
    w.m_run[mt][0] = w.m_run[mt][1] = neg_inf();
    w.l_run[mt][0] = w.l_run[mt][1] = 0.f;
  }
  const float sl2 = p.scale * 1.4426950408889634f;

  cp_async_wait<kStages - 2>();  // group 0: Q and tile 0
  __syncthreads();
  if (kQInRegs) {
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk)
        ldsm_x4(w.qf[kQInRegs ? mt * kD / 16 + kk : 0],
                s_q + (wrow + mt * 16) * kChunks * 16 + w.voff[kk & 3] + (kk >> 2) * 128);
  }

#if SIEVE_FWD_OVERLAP
  // Software-pipelined loop: while the tensor cores compute S(j+1) = Q K(j+1)^T, the
  // same warp runs the softmax of S(j) and issues P(j) V(j); the two streams sit in
  // one basic block so the scheduler interleaves them. Needs kStages >= 3: stage j
  // (V) and stage j+1 (K) are read while tile j+kStages-1 loads.
  static_assert(kStages >= 3, "SIEVE_FWD_OVERLAP needs SIEVE_FWD_STAGES >= 3");
  STile s_cur, s_nxt;
  int rstage = 0;
  if (ptile[0] >= 0) {
    qk(s_cur, w, s_q, s_k, wrow, lane);
    apply_mask(s_cur, ptile[0], pfull[0], p.k_len, qrow0, lane);
  }
  while (ptile[0] >= 0) {
#pragma unroll
    for (int i = 0; i + 1 < kStages - 1; ++i) {
      ptile[i] = ptile[i + 1];
      pfull[i] = pfull[i + 1];
    }
    cp_async_wait<kStages - 3>();  // tile j+1 landed
    __syncthreads();               // ... for everyone; stage of tile j-1 is free
    issue(kStages - 2);            // tile j+kStages-1
    const int nstage = rstage + 1 == kStages ? 0 : rstage + 1;
    // S(j+1) even when there is no tile j+1 (result unused): keeps one basic block.
    qk(s_nxt, w, s_q, s_k + nstage * kKVBytes, wrow, lane);
    softmax_pv(s_cur, w, s_v + rstage * kKVBytes, sl2, lane);
    if (ptile[0] >= 0) apply_mask(s_nxt, ptile[0], pfull[0], p.k_len, qrow0, lane);
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) s_cur[mt][j][e] = s_nxt[mt][j][e];
    rstage = nstage;
  }
#else
  int rstage = 0;
  while (ptile[0] >= 0) {
    const int tile = ptile[0];
    const bool full = pfull[0];
#pragma unroll
    for (int i = 0; i + 1 < kStages - 1; ++i) {
      ptile[i] = ptile[i + 1];
      pfull[i] = pfull[i + 1];
    }
    cp_async_wait<kStages - 2>();
    __syncthreads();  // tile visible to all; everyone is done with the previous stage
    issue(kStages - 2);
    STile s;
    qk(s, w, s_q, s_k + rstage * kKVBytes, wrow, lane);
    apply_mask(s, tile, full, p.k_len, qrow0, lane);
    softmax_pv(s, w, s_v + rstage * kKVBytes, sl2, lane);
    rstage = rstage + 1 == kStages ? 0 : rstage + 1;
  }
#endif
  cp_async_wait<0>();  // drain (possibly empty) trailing groups

  // Epilogue: normalise, write LSE, stage O through this warp's own Q rows, store.
  unsigned char *s_o = smem;
  __syncwarp();
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float l = w.l_run[mt][hh];
      l += shfl_xor(l, 1);
      l += shfl_xor(l, 2);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      const int r = wrow + mt * 16 + (lane >> 2) + hh * 8;  // row within tile
      if (p.lse && (lane & 3) == 0 && q0 + r < p.q_len) {
        const float lse = l > 0.f ? (w.m_run[mt][hh] + lg2(l)) * 0.6931471805599453f : neg_inf();
        p.lse[((long long)b * p.heads + h) * p.q_len + q0 + r] = lse;
      }
#pragma unroll
      for (int j = 0; j < kD / 8; ++j) {
        u32 v = pack2(w.o[mt][j][hh * 2] * inv, w.o[mt][j][hh * 2 + 1] * inv);
        // element column j*8 + (lane&3)*2 lies in chunk j, at byte (lane&3)*4
        *(u32 *)(s_o + swz(r, j) + (lane & 3) * 4) = v;
      }
    }
  __syncwarp();
  u16 *go = (u16 *)p.o + b * p.o_stride_b + h * p.o_stride_h;
#pragma unroll
  for (int i = 0; i < kRowsPerWarp * kChunks / 32; ++i) {
    int c = lane + i * 32;
    int r = wrow + c / kChunks, ch = c % kChunks;
    if (q0 + r < p.q_len) {
      const u32x4 *src = (const u32x4 *)(s_o + swz(r, ch));
      *(u32x4 *)(go + (long long)(q0 + r) * p.o_stride_r + ch * 8) = *src;
    }
  }
}
