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
//   SIEVE_TILE_Q, SIEVE_TILE_K     query rows / keys per tile (defaults that codegen
//                                  emits: hd128 -> 128 x 64, hd64 -> 128 x 64)
//   SIEVE_FWD_WARPS   (optional)   warps per block; each warp owns TILE_Q/WARPS rows
//                                  (a multiple of 16). Default TILE_Q / 16.
//   SIEVE_FWD_STAGES  (optional)   K/V shared-memory stages (>= 2). Default 2.
//   SIEVE_FWD_Q_IN_REGS (optional) 1: Q fragments held in registers for the whole
//                                  walk; 0: re-read from shared memory per key tile.
//                                  Default: 1 when a warp owns 16 rows.
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
//   sieve_fwd_launch_info = {threads, smem_bytes, tile_q, tile_k} (cuModuleGetGlobal).
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
#ifndef SIEVE_GEN_PRELUDE
#error "SieveFwdSm80.cuh: include the generated prelude (sieve_gen::mask, sieve_gen::Walk) first"
#endif
#ifndef SIEVE_FWD_WARPS
#define SIEVE_FWD_WARPS (SIEVE_TILE_Q / 16)
#endif
#ifndef SIEVE_FWD_STAGES
#define SIEVE_FWD_STAGES 2
#endif
#ifndef SIEVE_FWD_MIN_BLOCKS
#define SIEVE_FWD_MIN_BLOCKS 1
#endif

#define SIEVE_FWD_THREADS (SIEVE_FWD_WARPS * 32)
#define SIEVE_FWD_SMEM_BYTES \
  ((SIEVE_TILE_Q + 2 * SIEVE_FWD_STAGES * SIEVE_TILE_K) * SIEVE_HEAD_DIM * 2)

/// Kernel arguments, passed by value. Strides are in elements.
struct SieveFwdParams {
  const void *q, *k, *v;
  void *o;
  float *lse;  // [batch, heads, q_len] or null
  int batch, heads, kv_heads, q_len, k_len;
  float scale;  // softmax scale, e.g. 1/sqrt(head_dim)
  long long q_stride_b, q_stride_h, q_stride_r;
  long long k_stride_b, k_stride_h, k_stride_r;
  long long v_stride_b, v_stride_h, v_stride_r;
  long long o_stride_b, o_stride_h, o_stride_r;
};

extern "C" __constant__ int sieve_fwd_launch_info[4] = {
    SIEVE_FWD_THREADS, SIEVE_FWD_SMEM_BYTES, SIEVE_TILE_Q, SIEVE_TILE_K};

namespace sieve_fwd {

typedef unsigned short u16;  // 16-bit element storage (bf16 or fp16 bits)
typedef unsigned int u32;
struct __align__(16) u32x4 { u32 x, y, z, w; };

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

static_assert(kRowsPerWarp % 16 == 0 && kMT >= 1 && kMT <= 2, "rows per warp must be 16 or 32");
static_assert(kTK % 16 == 0 && kTK >= 16 && kTK <= 128, "SIEVE_TILE_K must be 16..128, multiple of 16");
static_assert(kStages >= 2, "need at least two K/V stages");
static_assert((kTK * kChunks) % kThreads == 0 && (kTQ * kChunks) % kThreads == 0,
              "tile chunk counts must divide the thread count");

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

__device__ __forceinline__ u32 smem_addr(const void *p) {
  u32 r;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
  return r;
}

// Byte offset of 16-byte chunk c of row r in a [rows][kChunks] tile. XOR with the
// low row bits spreads the 8 rows an ldmatrix phase reads over all 32 banks.
__device__ __forceinline__ u32 swz(int r, int c) {
  return (u32)((r * kChunks + (c ^ (r & 7))) * 16);
}

__device__ __forceinline__ void cp_async16(u32 dst, const void *src, bool pred) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(pred ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
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

/// Packs two floats into a 16-bit pair: lo in bits 0-15, hi in bits 16-31.
__device__ __forceinline__ u32 pack2(float lo, float hi) {
  u32 r;
#if defined(SIEVE_DTYPE_BF16)
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#else
  asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
}

__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float lg2(float x) {
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float fmax2(float a, float b) { return a > b ? a : b; }
__device__ __forceinline__ float shfl_xor(float v, int m) {
  return __shfl_xor_sync(0xffffffffu, v, m);
}

/// Copies rows [row0, row0 + rows) of a [len][kD] matrix into a swizzled tile;
/// rows at or past len are zero-filled (so padded V rows never inject NaN).
template <int kRows>
__device__ __forceinline__ void load_tile(u32 dst, const u16 *src, long long stride_r,
                                          int row0, int len, int tid) {
#pragma unroll
  for (int i = 0; i < kRows * kChunks / kThreads; ++i) {
    int c = tid + i * kThreads;
    int r = c / kChunks, ch = c % kChunks;
    bool in = row0 + r < len;
    const u16 *g = src + (in ? (long long)(row0 + r) * stride_r + ch * 8 : 0);
    cp_async16(dst + swz(r, ch), g, in);
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
  // One walk; the tiles it has handed to the loader but the math has not consumed yet
  // wait in a small register queue (compile-time indexed, kStages-1 deep).
  sieve_gen::Walk walk(qpos_begin, qpos_end, p.k_len);
  bool more = true;
  int ptile[kStages - 1];
  bool pfull[kStages - 1];

  // Prologue: Q in group 0, then one group per prefetched K/V tile (possibly empty).
  load_tile<kTQ>(s_q, gq + (long long)q0 * p.q_stride_r, p.q_stride_r, 0, p.q_len - q0, tid);
  cp_async_commit();
  int wstage = 0;
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    int t = -1;
    bool f = false;
    more = more && walk.next(t, f);
    if (more) {
      load_tile<kTK>(s_k + wstage * kKVBytes, gk, p.k_stride_r, t * kTK, p.k_len, tid);
      load_tile<kTK>(s_v + wstage * kKVBytes, gv, p.v_stride_r, t * kTK, p.k_len, tid);
    } else {
      t = -1;
    }
    ptile[s] = t;
    pfull[s] = f;
    cp_async_commit();
    wstage = wstage + 1 == kStages ? 0 : wstage + 1;
  }

  const int wrow = warp * kRowsPerWarp;  // first row of this warp within the tile
  u32 qf[kQInRegs ? kMT * kD / 16 : 1][4];
  if (kQInRegs) {
    cp_async_wait<kStages - 1>();
    __syncthreads();
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int kk = 0; kk < kD / 16; ++kk)
        ldsm_x4(qf[kQInRegs ? mt * kD / 16 + kk : 0],
                s_q + swz(wrow + mt * 16 + (lane & 7) + ((lane >> 3) & 1) * 8, kk * 2 + (lane >> 4)));
  }

  float o[kMT][kD / 8][4];
  float m_run[kMT][2], l_run[kMT][2];
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt) {
#pragma unroll
    for (int j = 0; j < kD / 8; ++j) o[mt][j][0] = o[mt][j][1] = o[mt][j][2] = o[mt][j][3] = 0.f;
    m_run[mt][0] = m_run[mt][1] = neg_inf();
    l_run[mt][0] = l_run[mt][1] = 0.f;
  }
  const float sl2 = p.scale * 1.4426950408889634f;
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
    {
      int t = -1;
      bool f = false;
      more = more && walk.next(t, f);
      if (more) {
        load_tile<kTK>(s_k + wstage * kKVBytes, gk, p.k_stride_r, t * kTK, p.k_len, tid);
        load_tile<kTK>(s_v + wstage * kKVBytes, gv, p.v_stride_r, t * kTK, p.k_len, tid);
      } else {
        t = -1;
      }
      ptile[kStages - 2] = t;
      pfull[kStages - 2] = f;
      cp_async_commit();
      wstage = wstage + 1 == kStages ? 0 : wstage + 1;
    }
    const u32 sk = s_k + rstage * kKVBytes, sv = s_v + rstage * kKVBytes;
    rstage = rstage + 1 == kStages ? 0 : rstage + 1;

    // S = Q K^T for this warp's rows.
    float s[kMT][kTK / 8][4];
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
          for (int i = 0; i < 4; ++i) a[mt][i] = qf[kQInRegs ? mt * kD / 16 + kk : 0][i];
        } else {
          ldsm_x4(a[mt], s_q + swz(wrow + mt * 16 + (lane & 7) + ((lane >> 3) & 1) * 8,
                                   kk * 2 + (lane >> 4)));
        }
      }
#pragma unroll
      for (int n2 = 0; n2 < kTK / 16; ++n2) {
        u32 bk[4];
        ldsm_x4(bk, sk + swz(n2 * 16 + (lane & 7) + (lane >> 4) * 8, kk * 2 + ((lane >> 3) & 1)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma16816(s[mt][2 * n2], a[mt], bk[0], bk[1]);
          mma16816(s[mt][2 * n2 + 1], a[mt], bk[2], bk[3]);
        }
      }
    }

    // Element mask on partial tiles and on tiles that cross the key end.
    const int k0 = tile * kTK;
    if (!full || k0 + kTK > p.k_len) {
#pragma unroll
      for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
        for (int hh = 0; hh < 2; ++hh) {
          const long long qp = qpos_begin + wrow + mt * 16 + (lane >> 2) + hh * 8;
#pragma unroll
          for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
            for (int e = 0; e < 2; ++e) {
              const int kp = k0 + j * 8 + (lane & 3) * 2 + e;
              if (!(kp < p.k_len && sieve_gen::mask(qp, (long long)kp)))
                s[mt][j][hh * 2 + e] = neg_inf();
            }
        }
    }

    // Online softmax (log2 domain), then O += P V.
#pragma unroll
    for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
      for (int hh = 0; hh < 2; ++hh) {
        float mx = neg_inf();
#pragma unroll
        for (int j = 0; j < kTK / 8; ++j) mx = fmax2(mx, fmax2(s[mt][j][hh * 2], s[mt][j][hh * 2 + 1]));
        mx = fmax2(mx, shfl_xor(mx, 1));
        mx = fmax2(mx, shfl_xor(mx, 2));
        const float m_new = fmax2(m_run[mt][hh], mx * sl2);
        const float m_use = m_new == neg_inf() ? 0.f : m_new;  // fully masked so far
        const float alpha = ex2(m_run[mt][hh] - m_use);
        m_run[mt][hh] = m_new;
        float sum = 0.f;
#pragma unroll
        for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            float pv = ex2(s[mt][j][hh * 2 + e] * sl2 - m_use);
            s[mt][j][hh * 2 + e] = pv;
            sum += pv;
          }
        l_run[mt][hh] = l_run[mt][hh] * alpha + sum;
#pragma unroll
        for (int j = 0; j < kD / 8; ++j) {
          o[mt][j][hh * 2] *= alpha;
          o[mt][j][hh * 2 + 1] *= alpha;
        }
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
        ldsm_x4_t(bv, sv + swz(kk * 16 + (lane & 7) + ((lane >> 3) & 1) * 8, d2 * 2 + (lane >> 4)));
#pragma unroll
        for (int mt = 0; mt < kMT; ++mt) {
          mma16816(o[mt][2 * d2], a[mt], bv[0], bv[1]);
          mma16816(o[mt][2 * d2 + 1], a[mt], bv[2], bv[3]);
        }
      }
    }
  }
  cp_async_wait<0>();  // drain (possibly empty) trailing groups before smem is reused

  // Epilogue: normalise, write LSE, stage O through this warp's own Q rows, store.
  unsigned char *s_o = smem;
  if (!kQInRegs) __syncwarp();
#pragma unroll
  for (int mt = 0; mt < kMT; ++mt)
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      float l = l_run[mt][hh];
      l += shfl_xor(l, 1);
      l += shfl_xor(l, 2);
      const float inv = l > 0.f ? 1.f / l : 0.f;
      const int r = wrow + mt * 16 + (lane >> 2) + hh * 8;  // row within tile
      if (p.lse && (lane & 3) == 0 && q0 + r < p.q_len) {
        const float lse = l > 0.f ? (m_run[mt][hh] + lg2(l)) * 0.6931471805599453f : neg_inf();
        p.lse[((long long)b * p.heads + h) * p.q_len + q0 + r] = lse;
      }
#pragma unroll
      for (int j = 0; j < kD / 8; ++j) {
        u32 v = pack2(o[mt][j][hh * 2] * inv, o[mt][j][hh * 2 + 1] * inv);
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
