//===- SieveJsonReader.h - Strict, bounded JSON parsing ---------*- C++ -*-===//
//
// nlohmann::json's default parse silently keeps the last of duplicate keys and
// reports syntax errors only by throwing (sieve builds without exceptions).
// This reader rejects duplicates, bounds nesting, and reports errors with a
// line and column, so no input crashes or hangs the importer.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PATTERNS_SIEVEJSONREADER_H
#define SIEVE_PATTERNS_SIEVEJSONREADER_H

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace sieve::jsonio {

/// Where and why reading failed. `line` and `column` are 1-based; for errors
/// found after parsing (duplicate keys), `pointer` names the place instead.
struct ReadError {
  int line = 0, column = 0;
  std::string pointer;
  std::string message;
  /// "line L, column C" or "at /json/pointer".
  std::string where() const;
};

/// The deepest nesting of arrays and objects accepted.
constexpr int kMaxDepth = 256;

/// Parses `text` into `out`. On failure fills `err` and returns false.
bool read(std::string_view text, nlohmann::json &out, ReadError &err);

/// Appends a JSON-pointer reference token ("~" and "/" escaped) to `pointer`.
std::string child(const std::string &pointer, std::string_view token);
std::string child(const std::string &pointer, size_t index);

/// A short rendering of a value for error messages ("-3", "\"abc\"", "an
/// object").
std::string describe(const nlohmann::json &value);

} // namespace sieve::jsonio

#endif // SIEVE_PATTERNS_SIEVEJSONREADER_H
