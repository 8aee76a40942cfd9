//===- SieveExprOps.h - The predicate language's arithmetic -----*- C++ -*-===//
//
// The one definition of the operators of the predicate expression language
// (dialect/SieveExpr.h documents the semantics): every operation is total on
// 64-bit integers. The host evaluator, the constant folders and the element
// mask of generated kernels all call these functions, so there is nothing to
// keep in sync. Self-contained (no headers), so code generation embeds this
// file verbatim in NVRTC sources; it compiles as host C++ and as CUDA.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_SIEVEEXPROPS_H
#define SIEVE_DIALECT_SIEVEEXPROPS_H

#ifndef SIEVE_HD
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SIEVE_HD __device__ __forceinline__
#else
#define SIEVE_HD inline
#endif
#endif

namespace sieve::expr_ops {

// int64_t and uint64_t where the compiler names them, else (NVRTC, which has
// no <cstdint>) long long; 64 bits either way.
#if defined(__INT64_TYPE__) && defined(__UINT64_TYPE__)
typedef __INT64_TYPE__ i64;
typedef __UINT64_TYPE__ u64;
#else
typedef long long i64;
typedef unsigned long long u64;
#endif

// Converting back from unsigned is modulo 2^64 (guaranteed from C++20, and
// what every supported compiler does before): wrapping without UB.
SIEVE_HD i64 add(i64 a, i64 b) { return (i64)((u64)a + (u64)b); }
SIEVE_HD i64 sub(i64 a, i64 b) { return (i64)((u64)a - (u64)b); }
SIEVE_HD i64 mul(i64 a, i64 b) { return (i64)((u64)a * (u64)b); }
SIEVE_HD i64 neg(i64 a) { return sub(0, a); }
/// Truncating; x / 0 = 0 and INT64_MIN / -1 = INT64_MIN (the wrapped value).
SIEVE_HD i64 div(i64 a, i64 b) {
  if (b == 0) return 0;
  if (b == -1) return neg(a);
  return a / b;
}
/// The sign of the dividend; x % 0 = 0 and x % -1 = 0 (no INT64_MIN trap).
SIEVE_HD i64 rem(i64 a, i64 b) {
  if (b == 0 || b == -1) return 0;
  return a % b;
}
/// Shifts by amounts outside [0, 63] give 0 (left) or the sign (right).
SIEVE_HD i64 shl(i64 a, i64 b) { return (b < 0 || b > 63) ? 0 : (i64)((u64)a << b); }
SIEVE_HD i64 shr(i64 a, i64 b) {
  if (b < 0 || b > 63) return a < 0 ? -1 : 0;
  // Right shifts of negative values are implementation-defined before C++20;
  // shifting the complement keeps them arithmetic everywhere.
  return a < 0 ? ~(~a >> b) : a >> b;
}

} // namespace sieve::expr_ops

#endif // SIEVE_DIALECT_SIEVEEXPROPS_H
