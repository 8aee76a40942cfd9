//===- SieveSoftmax.cuh - Online softmax over mma fragments ----*- CUDA -*-===//
//
// The online softmax of FlashAttention in the exp2 domain, on one thread's
// share of a 16-row slice of a tensor-core accumulator. mma.sync (m16n8) and
// wgmma (m64nN, per warp) use the same per-thread layout:
//
//   element j * 4 + h * 2 + e  <->  row (lane >> 2) + 8 h, column 8 j + 2 (lane & 3) + e
//
// so a thread holds two rows (h = 0, 1), and the four threads of a quad hold
// the whole row. Scores are scaled by sl2 = scale * log2(e). Rescaling is
// lazy: the reference max only moves when a row's max grows by more than
// kRescaleSlack (log2 units), so P stays below 2^slack, safe in fp32, bf16
// and fp16, and most tiles skip the O rescale.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_COMMON_SOFTMAX_CUH
#define SIEVE_KERNELS_COMMON_SOFTMAX_CUH

namespace sieve::dev {

constexpr float kRescaleSlack = 8.f;

/// The running max (log2 units) and sum of a thread's two rows of a slice.
struct RowState {
  float m[2], l[2];
  __device__ __forceinline__ void init() {
    m[0] = m[1] = neg_inf();
    l[0] = l[1] = 0.f;
  }
};

/// The scaled maxima of a thread's two rows of a score slice, reduced over
/// the quad.
template <int N>
__device__ __forceinline__ void row_max(const float (&s)[N], float sl2, float (&mx)[2]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float m = neg_inf();
#pragma unroll
    for (int j = 0; j < N / 4; ++j) m = fmax2(m, fmax2(s[j * 4 + h * 2], s[j * 4 + h * 2 + 1]));
    m = fmax2(m, shfl_xor(m, 1));
    m = fmax2(m, shfl_xor(m, 2));
    mx[h] = m * sl2;
  }
}

/// Whether a row's max outgrew the slack (warps decide together: any lane).
__device__ __forceinline__ bool outgrew(const RowState &st, const float (&mx)[2]) {
  return (mx[0] > st.m[0] + kRescaleSlack) | (mx[1] > st.m[1] + kRescaleSlack);
}

/// Moves the reference max to cover mx; alpha is the factor by which sums
/// and outputs accumulated so far must be scaled (l is scaled here).
__device__ __forceinline__ void move_max(RowState &st, const float (&mx)[2], float (&alpha)[2]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float m_new = fmax2(st.m[h], mx[h]);
    // m_new == -inf: the row is fully masked so far and nothing accumulated.
    alpha[h] = m_new == neg_inf() ? 1.f : ex2(st.m[h] - m_new);
    st.m[h] = m_new;
    st.l[h] *= alpha[h];
  }
}

/// Scales an accumulator slice's two rows.
template <int N>
__device__ __forceinline__ void scale_rows(float (&o)[N], const float (&alpha)[2]) {
#pragma unroll
  for (int j = 0; j < N / 4; ++j)
#pragma unroll
    for (int e = 0; e < 4; ++e) o[j * 4 + e] *= alpha[e >> 1];
}

/// P = exp2(s * sl2 - m) in place, and the row sums added to l. A row whose
/// reference max is still -inf has only -inf scores: p = ex2(-inf) = 0.
template <int N>
__device__ __forceinline__ void exponentiate(float (&s)[N], RowState &st, float sl2) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float m_use = st.m[h] == neg_inf() ? 0.f : st.m[h];
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < N / 4; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const float p = ex2(s[j * 4 + h * 2 + e] * sl2 - m_use);
        s[j * 4 + h * 2 + e] = p;
        sum += p;
      }
    st.l[h] += sum;
  }
}

/// exponentiate() that packs P into the A operand of O += P V as it goes
/// (pf[kk] as pack_a would make it), so each pair of scores dies as it is
/// packed: fewer live registers where the wgmma kernel needs them.
template <class Elem, int N>
__device__ __forceinline__ void exponentiate_pack(float (&s)[N], RowState &st, float sl2,
                                                  u32 (&pf)[N / 8][4]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float m_use = st.m[h] == neg_inf() ? 0.f : st.m[h];
    float sum = 0.f;
#pragma unroll
    for (int j = 0; j < N / 4; ++j) {
      const float p0 = ex2(s[j * 4 + h * 2] * sl2 - m_use);
      const float p1 = ex2(s[j * 4 + h * 2 + 1] * sl2 - m_use);
      sum += p0 + p1;
      pf[j >> 1][(j & 1) * 2 + h] = Elem::pack2(p0, p1);
    }
    st.l[h] += sum;
  }
}

/// The A operand of the k16 step kk of O += P V, from a P slice: rows
/// (g, g + 8) x columns (16 kk + 2c, 16 kk + 2c + 8), the same for
/// mma.sync m16n8k16 and wgmma with A from registers.
template <class Elem, int N>
__device__ __forceinline__ void pack_a(const float (&p)[N], int kk, u32 (&a)[4]) {
  a[0] = Elem::pack2(p[(2 * kk) * 4 + 0], p[(2 * kk) * 4 + 1]);
  a[1] = Elem::pack2(p[(2 * kk) * 4 + 2], p[(2 * kk) * 4 + 3]);
  a[2] = Elem::pack2(p[(2 * kk + 1) * 4 + 0], p[(2 * kk + 1) * 4 + 1]);
  a[3] = Elem::pack2(p[(2 * kk + 1) * 4 + 2], p[(2 * kk + 1) * 4 + 3]);
}

/// The end of a row: 1 / l for normalising O (0 for a row that attends
/// nothing) and the natural-log LSE (-inf for such a row), reduced over the
/// quad.
__device__ __forceinline__ void finish_rows(const RowState &st, float (&inv)[2], float (&lse)[2]) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    float l = st.l[h];
    l += shfl_xor(l, 1);
    l += shfl_xor(l, 2);
    inv[h] = l > 0.f ? 1.f / l : 0.f;
    lse[h] = l > 0.f ? (st.m[h] + lg2(l)) * kLn2 : neg_inf();
  }
}

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_COMMON_SOFTMAX_CUH
