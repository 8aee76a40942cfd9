//===- SieveLimits.h - Bounds on the numbers of a pattern ------*- C++ -*-===//
//
// Shared by the verifiers and the JSON importer so that both accept the same
// numbers. The bounds keep every derived quantity (count * block size, token
// positions, distances) far from int64 overflow.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_DIALECT_SIEVELIMITS_H
#define SIEVE_DIALECT_SIEVELIMITS_H

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sieve::limits {
/// The largest pattern block size, in tokens.
constexpr int64_t kMaxBlockSize = int64_t(1) << 20;
/// The largest count, distance or offset (blocks or tokens) in a pattern.
constexpr int64_t kMaxCount = int64_t(1) << 40;
/// The deepest nesting of masks a JSON spec may have.
constexpr int kMaxMaskDepth = 64;
/// The most terms (ops of the algebra, one per mask) a pattern may hold: it
/// bounds the work of the passes, which compare terms pairwise, and the size
/// of the generated kernel.
constexpr int64_t kMaxPatternTerms = 10000;
/// The most operations a pattern may hold, its predicates' bodies included.
constexpr int64_t kMaxPatternOps = int64_t(1) << 17;
/// The largest spec file (.json or .mlir) that is read.
constexpr size_t kMaxSpecBytes = size_t(16) << 20;
/// The longest pattern name.
constexpr size_t kMaxNameLength = 128;

/// Whether `name` is an identifier, [A-Za-z_][A-Za-z0-9_]*, of at most
/// `maxLength` bytes. Pattern and plan names are pasted into generated CUDA,
/// SVG and JSON, so nothing else is accepted.
inline bool isIdentifier(std::string_view name, size_t maxLength = kMaxNameLength) {
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (name.empty() || name.size() > maxLength || !letter(name[0]))
    return false;
  for (char c : name)
    if (!letter(c) && !(c >= '0' && c <= '9'))
      return false;
  return true;
}
} // namespace sieve::limits

#endif // SIEVE_DIALECT_SIEVELIMITS_H
