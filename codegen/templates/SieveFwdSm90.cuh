//===- SieveFwdSm90.cuh - sparse forward attention, wgmma path ---*- CUDA -*-===//
//
// Forward attention for Hopper (sm_90a): each warpgroup (4 warps) owns 64 query
// rows and runs S = Q K^T and O += P V as asynchronous warpgroup MMAs (wgmma),
// Q and K from shared memory, P from registers, V from shared memory read
// transposed. K/V tiles stream through a multi-stage cp.async pipeline into the
// 128-byte-swizzled layout the tensor cores read. Online softmax in the exp2
// domain with lazy rescaling, fp32 accumulation, natural-log LSE out. The same
// entry point, parameters, macros and launch-info array as SieveFwdSm80.cuh, so
// the host cannot tell the two apart. Self-contained: no toolkit header.
//
// ---- Configuration (defined by the generated prelude BEFORE this file) -----------
//   SIEVE_HEAD_DIM                 64 or 128
//   SIEVE_DTYPE_BF16 | SIEVE_DTYPE_FP16
//   SIEVE_TILE_Q                   64 x warpgroups (SIEVE_FWD_WARPS / 4)
//   SIEVE_TILE_K                   64 or 128 (the N of S = Q K^T); must divide the
//                                  pattern's key block for exact full/partial tags.
//   SIEVE_FWD_WARPS                4 x warpgroups. Default 8.
//   SIEVE_FWD_OVERLAP (optional)   1 (default): S(j + 1) = Q K(j + 1)^T is issued before
//                                  the softmax of tile j, which hides it (3 K/V stages);
//                                  0: one tile at a time (2 stages).
//   SIEVE_FWD_UNROLL2 (optional)   1 (default): the overlapped loop is unrolled twice so
//                                  the two score tiles swap roles without copies.
//   SIEVE_FWD_STAGES  (optional)   K/V stages (default 3 with OVERLAP, else 2).
//   SIEVE_GEN_PRELUDE              the generated prelude (sieve_gen::mask, Walk).
//
// ---- Launch contract: as SieveFwdSm80.cuh ----------------------------------------
//   grid (ceil(q_len / TILE_Q), heads, batch); SIEVE_FWD_THREADS threads;
//   SIEVE_FWD_SMEM_BYTES of dynamic shared memory (+1 KiB for alignment);
//   sieve_fwd_launch_info = {threads, smem_bytes, tile_q, tile_k, head_dim, is_fp16}.
//
// ---- Shared-memory layout ---------------------------------------------------------
//   A [rows][head_dim] tile is stored as head_dim / 64 column blocks of
//   [rows][128 bytes]; 16-byte chunk c of row r sits at chunk (c ^ (r & 7)) of its
//   row (the tensor cores' 128-byte swizzle; each 8-row group is one 1 KiB atom,
//   atoms 1 KiB aligned). Descriptors: K-major (Q, K) stride 1 KiB between 8-row
//   groups; V read MN-major (transposed): 1 KiB between 8-key groups, one column
//   block (rows x 128 bytes) between 64-wide blocks of head_dim.
//===----------------------------------------------------------------------------===//

#ifndef SIEVE_HEAD_DIM
#error "SieveFwdSm90.cuh: SIEVE_HEAD_DIM must be defined (64 or 128) before inclusion"
#endif
#if SIEVE_HEAD_DIM != 64 && SIEVE_HEAD_DIM != 128
#error "SieveFwdSm90.cuh: SIEVE_HEAD_DIM must be 64 or 128"
#endif
#if defined(SIEVE_DTYPE_BF16) == defined(SIEVE_DTYPE_FP16)
#error "SieveFwdSm90.cuh: define exactly one of SIEVE_DTYPE_BF16 / SIEVE_DTYPE_FP16"
#endif
#if !defined(SIEVE_TILE_Q) || !defined(SIEVE_TILE_K)
#error "SieveFwdSm90.cuh: SIEVE_TILE_Q and SIEVE_TILE_K must be defined before inclusion"
#endif
#ifndef SIEVE_FWD_COMMON
#error "SieveFwdSm90.cuh: include SieveFwdCommon.cuh first"
#endif
#ifndef SIEVE_GEN_PRELUDE
#error "SieveFwdSm90.cuh: include the generated prelude (sieve_gen::mask, sieve_gen::Walk) first"
#endif
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "SieveFwdSm90.cuh: wgmma needs the sm_90a target (--gpu-architecture=sm_90a)"
#endif
#ifndef SIEVE_FWD_WARPS
#define SIEVE_FWD_WARPS 8
#endif

#define SIEVE_FWD_THREADS (SIEVE_FWD_WARPS * 32)
#ifndef SIEVE_FWD_OVERLAP
#define SIEVE_FWD_OVERLAP 1
#endif
#ifndef SIEVE_FWD_UNROLL2
#define SIEVE_FWD_UNROLL2 1
#endif
#ifndef SIEVE_FWD_STAGES
#define SIEVE_FWD_STAGES (SIEVE_FWD_OVERLAP ? 3 : 2)
#endif
// Q, the K and V stages, plus 1 KiB to align the base to a swizzle atom.
#define SIEVE_FWD_SMEM_BYTES \
  ((SIEVE_TILE_Q + 2 * SIEVE_FWD_STAGES * SIEVE_TILE_K) * SIEVE_HEAD_DIM * 2 + 1024)

#ifdef SIEVE_DTYPE_FP16
#define SIEVE_WG_T "f16"
#else
#define SIEVE_WG_T "bf16"
#endif
extern "C" __constant__ int sieve_fwd_launch_info[6] = {
    SIEVE_FWD_THREADS, SIEVE_FWD_SMEM_BYTES, SIEVE_TILE_Q, SIEVE_TILE_K, SIEVE_HEAD_DIM,
    SIEVE_FWD_IS_FP16};

namespace sieve_fwd {


constexpr int kD = SIEVE_HEAD_DIM;
constexpr int kTQ = SIEVE_TILE_Q;
constexpr int kTK = SIEVE_TILE_K;
constexpr int kWarps = SIEVE_FWD_WARPS;
constexpr int kThreads = kWarps * 32;
constexpr int kGroups = kWarps / 4;     // warpgroups, 64 query rows each
constexpr int kChunks = kD / 8;         // 16-byte chunks per row
constexpr int kQBytes = kTQ * kD * 2;
constexpr int kKVBytes = kTK * kD * 2;  // one K (or V) stage
constexpr int kStages = SIEVE_FWD_STAGES;
constexpr float kRescaleSlack = 8.f;
static_assert(kStages >= 2 && (!SIEVE_FWD_OVERLAP || kStages >= 3),
              "SIEVE_FWD_OVERLAP needs 3 stages: V(j), K(j + 1) and the load of j + 2");

static_assert(kWarps % 4 == 0 && kTQ == 64 * kGroups, "SIEVE_TILE_Q must be 64 x warpgroups");
static_assert(kTK == 64 || kTK == 128, "SIEVE_TILE_K must be 64 or 128");
static_assert((kTK * kChunks) % kThreads == 0 && (kTQ * kChunks) % kThreads == 0,
              "tile chunk counts must divide the thread count");

/// Byte offset of 16-byte chunk c of row r in a swizzled [rows][kD] tile.
template <int kRows>
__device__ __forceinline__ u32 swz(int r, int c) {
  return (u32)((c >> 3) * (kRows * 128) + r * 128 + (((c & 7) ^ (r & 7)) << 4));
}

__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::); }
/// cp.async writes through the generic proxy; wgmma reads through the async one.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}

__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_wait_all() {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
}
/// Pins registers a wgmma reads or writes asynchronously: the compiler may not
/// move their other uses across this point (used on both sides of a wgmma
/// group: before its issue and after its wait).
template <int N>
__device__ __forceinline__ void fence_operands(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void fence_operands(u32 (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(r[i][e])::"memory");
}

/// A shared-memory matrix descriptor: 128-byte swizzle, the given strides.
__device__ __forceinline__ u64 desc(u32 addr, u32 lbo, u32 sbo) {
  return (u64)((addr & 0x3FFFF) >> 4) | ((u64)(lbo >> 4) << 16) | ((u64)(sbo >> 4) << 32) |
         (1ull << 62);
}

// One m64nNk16 wgmma each: D (fp32, N / 2 registers per thread) += A B, with A
// from shared memory (ss) or registers (rs, four 16-bit pairs), B from shared
// memory (rs: read MN-major, the transposed V). scale_d = 0 overwrites D. Inline
// asm needs every accumulator register named: the macros below spell out the
// operand lists once for all four wrappers.
#define SIEVE_WG_D8(i)                                                                    \
  "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), \
      "+f"(d[i + 6]), "+f"(d[i + 7])
#define SIEVE_WG_D32 SIEVE_WG_D8(0), SIEVE_WG_D8(8), SIEVE_WG_D8(16), SIEVE_WG_D8(24)
#define SIEVE_WG_D64 \
  SIEVE_WG_D32, SIEVE_WG_D8(32), SIEVE_WG_D8(40), SIEVE_WG_D8(48), SIEVE_WG_D8(56)
#define SIEVE_WG_R32                                                           \
  "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"                      \
  "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31"
#define SIEVE_WG_R64                                                           \
  SIEVE_WG_R32 ","                                                             \
  "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"            \
  "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63"
#define SIEVE_WG_OP(n) \
  "wgmma.mma_async.sync.aligned.m64n" #n "k16.f32." SIEVE_WG_T "." SIEVE_WG_T " "

__device__ __forceinline__ void wgmma_ss_n64(float (&d)[32], u64 da, u64 db, int scale_d) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n" SIEVE_WG_OP(64)
               "{" SIEVE_WG_R32 "}, %32, %33, p, 1, 1, 0, 0;\n}\n"
               : SIEVE_WG_D32
               : "l"(da), "l"(db), "r"(scale_d));
}

__device__ __forceinline__ void wgmma_rs_n64(float (&d)[32], const u32 (&a)[4], u64 db, int scale_d) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n" SIEVE_WG_OP(64)
               "{" SIEVE_WG_R32 "}, {%32,%33,%34,%35}, %36, p, 1, 1, 1;\n}\n"
               : SIEVE_WG_D32
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));
}

__device__ __forceinline__ void wgmma_ss_n128(float (&d)[64], u64 da, u64 db, int scale_d) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n" SIEVE_WG_OP(128)
               "{" SIEVE_WG_R64 "}, %64, %65, p, 1, 1, 0, 0;\n}\n"
               : SIEVE_WG_D64
               : "l"(da), "l"(db), "r"(scale_d));
}

__device__ __forceinline__ void wgmma_rs_n128(float (&d)[64], const u32 (&a)[4], u64 db, int scale_d) {
  asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n" SIEVE_WG_OP(128)
               "{" SIEVE_WG_R64 "}, {%64,%65,%66,%67}, %68, p, 1, 1, 1;\n}\n"
               : SIEVE_WG_D64
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));
}

/// Copies rows [row0, row0 + kRows) of a [len][kD] matrix into a swizzled tile;
/// rows at or past len are zero-filled (so padded V rows never inject NaN).
template <int kRows>
__device__ __forceinline__ void load_tile(u32 dst, const u16 *src, long long stride_r,
                                          int row0, int len, int tid) {
  constexpr int kStep = kThreads / kChunks;  // rows per pass, a multiple of 8
  static_assert(kThreads % kChunks == 0 && kStep % 8 == 0, "need >= 8 rows per copy step");
  const int r0 = tid / kChunks, ch = tid % kChunks;
  const u16 *g = src + (long long)(row0 + r0) * stride_r + ch * 8;
  const long long gstep = (long long)kStep * stride_r;
  const u32 d = dst + swz<kRows>(r0, ch);
#pragma unroll
  for (int i = 0; i < kRows / kStep; ++i) {
    const bool in = row0 + r0 + i * kStep < len;
    cp_async16(d + i * kStep * 128, g, in);  // src-size 0 past len: g is not read
    g += gstep;
  }
}

#if SIEVE_TILE_K == 64
#define SIEVE_WGMMA_S wgmma_ss_n64
#else
#define SIEVE_WGMMA_S wgmma_ss_n128
#endif
#if SIEVE_HEAD_DIM == 64
#define SIEVE_WGMMA_O wgmma_rs_n64
#else
#define SIEVE_WGMMA_O wgmma_rs_n128
#endif

/// Issues S = Q K^T for this warpgroup's 64 rows (Q at sq, the group's first
/// row) and the K tile at sk, as one wgmma group; wait before reading s.
__device__ __forceinline__ void qk_issue(float (&s)[kTK / 2], u32 sq, u32 sk) {
  fence_operands(s);
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kD / 16; ++kk) {
    const u32 off = (kk & 3) * 32;  // 16 elements along the 128-byte row
    const u64 da = desc(sq + (kk >> 2) * (kTQ * 128) + off, 16, 1024);
    const u64 db = desc(sk + (kk >> 2) * (kTK * 128) + off, 16, 1024);
    SIEVE_WGMMA_S(s, da, db, kk > 0);
  }
  wgmma_commit();
}

/// Element mask (partial tiles and tiles crossing the key end): masked scores -> -inf.
/// The thread holds rows qrow and qrow + 8, keys k0 + 8 j + 2 (lane & 3) + e.
__device__ __forceinline__ void apply_mask(float (&s)[kTK / 2], int tile, bool full, int k_len,
                                           long long qrow, int lane) {
  const int k0 = tile * kTK;
  if (full && k0 + kTK <= k_len) return;
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const long long qp = qrow + hh * 8;
#pragma unroll
    for (int j = 0; j < kTK / 8; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int kp = k0 + j * 8 + (lane & 3) * 2 + e;
        if (!(kp < k_len && sieve_gen::mask(qp, (long long)kp))) s[j * 4 + hh * 2 + e] = neg_inf();
      }
  }
}

/// Online softmax of s (log2 domain, sl2 = scale * log2 e): P as the A
/// fragments of O += P V, the running sums, and in `alpha` the factor O must be
/// scaled by before P V is added (returns false when no row needs it). O is not
/// touched, so a P V of the previous tile may still be in flight.
__device__ __forceinline__ bool softmax(float (&s)[kTK / 2], u32 (&pf)[kTK / 16][4],
                                        float (&m_run)[2], float (&l_run)[2],
                                        float (&alpha)[2], float sl2) {
  float mxs[2];
  bool need = false;
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    float mx = neg_inf();
#pragma unroll
    for (int j = 0; j < kTK / 8; ++j) mx = fmax2(mx, fmax2(s[j * 4 + hh * 2], s[j * 4 + hh * 2 + 1]));
    mx = fmax2(mx, shfl_xor(mx, 1));
    mx = fmax2(mx, shfl_xor(mx, 2));
    mxs[hh] = mx * sl2;
    // Lazy rescale: keep the stale reference max until a row's max grows by more
    // than kRescaleSlack (log2 units); P then stays <= 2^slack.
    need |= mxs[hh] > m_run[hh] + kRescaleSlack;
  }
  const bool rescale = __any_sync(0xffffffffu, need);
  alpha[0] = alpha[1] = 1.f;
  if (rescale) {
#pragma unroll
    for (int hh = 0; hh < 2; ++hh) {
      const float m_new = fmax2(m_run[hh], mxs[hh]);
      alpha[hh] = m_new == neg_inf() ? 1.f : ex2(m_run[hh] - m_new);
      m_run[hh] = m_new;
      l_run[hh] *= alpha[hh];
    }
  }
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    const float m_use = m_run[hh] == neg_inf() ? 0.f : m_run[hh];
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < kTK / 8; ++j) {
      const float p0 = ex2(s[j * 4 + hh * 2] * sl2 - m_use);
      const float p1 = ex2(s[j * 4 + hh * 2 + 1] * sl2 - m_use);
      sum += p0 + p1;
      // A fragment of the k16 step j / 2: rows (g, g + 8) x keys (2c, 2c + 8).
      pf[j >> 1][(j & 1) * 2 + hh] = pack2(p0, p1);
    }
    l_run[hh] += sum;
  }
  return rescale;
}

__device__ __forceinline__ void rescale_o(float (&o)[kD / 2], const float (&alpha)[2]) {
#pragma unroll
  for (int j = 0; j < kD / 8; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[j * 4 + e] *= alpha[e >> 1];
}

/// Issues O += P V with the V tile at sv as one wgmma group. pf must stay
/// unchanged until the group completes.
__device__ __forceinline__ void pv_issue(float (&o)[kD / 2], u32 (&pf)[kTK / 16][4], u32 sv) {
  fence_operands(o);
  fence_operands(pf);
  wgmma_fence();
#pragma unroll
  for (int kk = 0; kk < kTK / 16; ++kk) {
    const u64 db = desc(sv + kk * 16 * 128, kTK * 128, 1024);
    SIEVE_WGMMA_O(o, pf[kk], db, 1);
  }
  wgmma_commit();
}

/// The softmax of s, then O += P V issued (the P V of the previous tile done).
/// pf holds P until the P V completes.
__device__ __forceinline__ void softmax_pv_issue(float (&s)[kTK / 2], float (&o)[kD / 2],
                                                 float (&m_run)[2], float (&l_run)[2], u32 sv,
                                                 float sl2, u32 (&pf)[kTK / 16][4]) {
  float alpha[2];
  if (softmax(s, pf, m_run, l_run, alpha, sl2)) rescale_o(o, alpha);
  pv_issue(o, pf, sv);
}

}  // namespace sieve_fwd

extern "C" __global__ void __launch_bounds__(SIEVE_FWD_THREADS, 1)
    sieve_attention_fwd(const SieveFwdParams p) {
  using namespace sieve_fwd;
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
  const u16 *gk = (const u16 *)p.k + b * p.k_stride_b + kvh * p.k_stride_h;
  const u16 *gv = (const u16 *)p.v + b * p.v_stride_b + kvh * p.v_stride_h;

  const u32 s_q = s_base;
  const u32 s_k = s_q + kQBytes;
  const u32 s_v = s_k + kStages * kKVBytes;

  const long long qpos_begin = q_off + q0;
  long long qpos_end = qpos_begin + kTQ;
  if (qpos_end > p.k_len) qpos_end = p.k_len;
  // This thread's rows: qrow and qrow + 8 (absolute positions).
  const int trow = group * 64 + gwarp * 16 + (lane >> 2);  // row within the tile
  const long long qrow = qpos_begin + trow;

  // One walk for the block. Tile i of the walk lives in stage i % kStages; tiles
  // handed to the loader but not yet computed wait in a small queue.
  sieve_gen::Walk walk(qpos_begin, qpos_end, p.k_len);
  int qtile[kStages - 1];
  bool qfull[kStages - 1];
  int load_stage = 0;
  auto issue = [&](int slot) {  // loads the walk's next tile, if any, into queue slot
    int t = -1;
    bool f = false;
    if (walk.next(t, f)) {
      load_tile<kTK>(s_k + load_stage * kKVBytes, gk, p.k_stride_r, t * kTK, p.k_len, tid);
      load_tile<kTK>(s_v + load_stage * kKVBytes, gv, p.v_stride_r, t * kTK, p.k_len, tid);
    } else {
      t = -1;
    }
    cp_async_commit();
    qtile[slot] = t;
    qfull[slot] = f;
    load_stage = load_stage + 1 == kStages ? 0 : load_stage + 1;
  };
  auto pop = [&](int &t, bool &f) {
    t = qtile[0];
    f = qfull[0];
#pragma unroll
    for (int i = 0; i + 1 < kStages - 1; ++i) {
      qtile[i] = qtile[i + 1];
      qfull[i] = qfull[i + 1];
    }
  };

  // Prologue: Q rides with tile 0; tiles 0 .. kStages - 2 are in flight.
  load_tile<kTQ>(s_q, gq + (long long)q0 * p.q_stride_r, p.q_stride_r, 0, p.q_len - q0, tid);
#pragma unroll
  for (int i = 0; i < kStages - 1; ++i) issue(i);

  float o[kD / 2];
#pragma unroll
  for (int i = 0; i < kD / 2; ++i) o[i] = 0.f;
  float m_run[2] = {neg_inf(), neg_inf()}, l_run[2] = {0.f, 0.f};
  const float sl2 = p.scale * 1.4426950408889634f;
  const u32 s_qg = s_q + group * 64 * 128;  // this warpgroup's rows of every column block
  int stage = 0;  // stage of the tile being computed
  auto next_stage = [](int st) { return st + 1 == kStages ? 0 : st + 1; };

#if SIEVE_FWD_OVERLAP
  // S(j + 1) = Q K(j + 1)^T runs on the tensor cores while this warpgroup does
  // the softmax of tile j; the loop is unrolled twice so the two S tiles trade
  // roles without register copies.
  float sa[kTK / 2], sb[kTK / 2];
  u32 pf[kTK / 16][4];
  int tile, ntile;
  bool full, nfull;
  cp_async_wait_all();  // Q and tiles 0 .. kStages - 2
  fence_proxy_async();
  __syncthreads();
  pop(tile, full);
  issue(kStages - 2);  // the stage after tiles 0 .. kStages - 2 is free
  if (tile >= 0) {
    qk_issue(sa, s_qg, s_k);
    wgmma_wait_all();
    fence_operands(sa);
    apply_mask(sa, tile, full, p.k_len, qrow, lane);
  }
  // One step: tile j (masked scores in cur) -> O; scores of tile j + 1 into
  // nxt. On entry tile j + 1 is in shared memory. Returns false when tile j was
  // the last.
  auto step = [&](float (&cur)[kTK / 2], float (&nxt)[kTK / 2]) {
    pop(ntile, nfull);
    const int nst = next_stage(stage);
    if (ntile >= 0) qk_issue(nxt, s_qg, s_k + nst * kKVBytes);
    softmax_pv_issue(cur, o, m_run, l_run, s_v + stage * kKVBytes, sl2, pf);
    wgmma_wait_all();
    fence_operands(nxt);
    fence_operands(o);
    fence_operands(pf);
    stage = nst;
    tile = ntile, full = nfull;
    if (tile < 0) return false;
    apply_mask(nxt, tile, full, p.k_len, qrow, lane);
    cp_async_wait_all();  // tile j + 2
    fence_proxy_async();
    __syncthreads();      // ... visible to all, and everyone is done with tile j
    issue(kStages - 2);   // tile j + kStages into tile j's stage
    return true;
  };
#if SIEVE_FWD_UNROLL2
  if (tile >= 0)
    while (step(sa, sb) && step(sb, sa)) {
    }
#else
  if (tile >= 0)
    while (step(sa, sb)) {
#pragma unroll
      for (int i = 0; i < kTK / 2; ++i) sa[i] = sb[i];
    }
#endif
#else
  float s[kTK / 2];
  u32 pf[kTK / 16][4];
  while (true) {
    int tile;
    bool full;
    pop(tile, full);
    cp_async_wait_all();
    fence_proxy_async();
    __syncthreads();  // tile visible to all; everyone is done with the stage reloaded next
    if (tile < 0) break;
    issue(kStages - 2);
    qk_issue(s, s_qg, s_k + stage * kKVBytes);
    wgmma_wait_all();
    fence_operands(s);
    apply_mask(s, tile, full, p.k_len, qrow, lane);
    softmax_pv_issue(s, o, m_run, l_run, s_v + stage * kKVBytes, sl2, pf);
    wgmma_wait_all();
    fence_operands(o);
    fence_operands(pf);
    stage = next_stage(stage);
  }
#endif
  cp_async_wait_all();  // drain (possibly empty) trailing groups

  // Epilogue: normalise, write LSE, stage O (16-bit) through this group's Q rows.
#pragma unroll
  for (int hh = 0; hh < 2; ++hh) {
    float l = l_run[hh];
    l += shfl_xor(l, 1);
    l += shfl_xor(l, 2);
    const float inv = l > 0.f ? 1.f / l : 0.f;
    const int r = trow + hh * 8;
    if (p.lse && (lane & 3) == 0 && q0 + r < p.q_len) {
      const float lse = l > 0.f ? (m_run[hh] + lg2(l)) * 0.6931471805599453f : neg_inf();
      p.lse[((long long)b * p.heads + h) * p.q_len + q0 + r] = lse;
    }
#pragma unroll
    for (int j = 0; j < kD / 8; ++j) {
      const u32 v = pack2(o[j * 4 + hh * 2] * inv, o[j * 4 + hh * 2 + 1] * inv);
      *(u32 *)(smem + swz<kTQ>(r, j) + (lane & 3) * 4) = v;
    }
  }
  // Only this warpgroup wrote and reads these rows.
  asm volatile("bar.sync %0, 128;\n" ::"r"(group + 1) : "memory");
  u16 *go = (u16 *)p.o + b * p.o_stride_b + h * p.o_stride_h;
  const int gtid = tid & 127;
#pragma unroll
  for (int i = 0; i < 64 * kChunks / 128; ++i) {
    const int c = gtid + i * 128;
    const int r = group * 64 + c / kChunks, ch = c % kChunks;
    if (q0 + r < p.q_len)
      *(u32x4 *)(go + (long long)(q0 + r) * p.o_stride_r + ch * 8) =
          *(const u32x4 *)(smem + swz<kTQ>(r, ch));
  }
}
