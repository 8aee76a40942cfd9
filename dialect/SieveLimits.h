//===- SieveLimits.h - Bounds on the numbers of a pattern ------*- C++ -*-===//
//
// Shared by the verifiers and the JSON importer so that both accept the same
// numbers. The bounds keep every derived quantity (count * block size, token
// positions, distances) far from int64 overflow.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_SIEVELIMITS_H
#define SIEVE_DIALECT_SIEVELIMITS_H

#include <cstdint>

namespace sieve::limits {
/// The largest pattern block size, in tokens.
constexpr int64_t kMaxBlockSize = int64_t(1) << 20;
/// The largest count, distance or offset (blocks or tokens) in a pattern.
constexpr int64_t kMaxCount = int64_t(1) << 40;
/// The deepest nesting of masks a JSON spec may have.
constexpr int kMaxMaskDepth = 64;
} // namespace sieve::limits

#endif // SIEVE_DIALECT_SIEVELIMITS_H
