//===- SieveBuiltins.h - The library of built-in patterns -------*- C++ -*-===//
//
// A built-in is a named, parameterised long form in the JSON mask language:
// expanding it yields exactly the MASK a user could have written, so built-ins
// need no semantics of their own and each is tested against its long form.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PATTERNS_SIEVEBUILTINS_H
#define SIEVE_PATTERNS_SIEVEBUILTINS_H

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace sieve {

/// One parameter of a built-in: an integer or a list of integers.
struct BuiltinParam {
  std::string name;
  std::string description;
  std::vector<int64_t> defaults; ///< One element unless `isList`.
  bool isList = false;
  int64_t min = 1, max = int64_t(1) << 40; ///< Bounds of every element.
};

/// Parameter values by name, defaults filled in.
using BuiltinArgs = std::map<std::string, std::vector<int64_t>>;

struct Builtin {
  std::string name;
  std::string description; ///< One line, for `sieve list`.
  std::vector<BuiltinParam> params;
  /// The long form: a MASK of the JSON spec format.
  nlohmann::json (*expand)(const BuiltinArgs &args) = nullptr;
  /// Checks that relate several parameters. Returns an empty string when the
  /// arguments are valid, else a message and the offending parameter in `key`.
  std::string (*validate)(const BuiltinArgs &args, std::string &key) = nullptr;

  /// The arguments with every parameter at its default.
  BuiltinArgs defaults() const;
  /// The long form with default parameters.
  nlohmann::json expandDefaults() const { return expand(defaults()); }
};

/// Every built-in, in the order `sieve list` prints them.
const std::vector<Builtin> &builtins();
/// The built-in called `name`, or null.
const Builtin *findBuiltin(std::string_view name);
/// "causal, full, ..." for error messages.
std::string builtinNames();

/// causal & (sink | window | extra...): the shape of the paper's causal
/// sparse patterns, with the sink and window in blocks from `args`.
nlohmann::json causalSinkWindow(const BuiltinArgs &args,
                                std::vector<nlohmann::json> extra = {});

namespace builtin_defs {
// One definition per file under patterns/builtins/.
Builtin powerAttention();
Builtin slidingWindow();
Builtin strideSlash();
Builtin dilated();
Builtin longNet();
Builtin causal();
Builtin full();
Builtin longformer();
} // namespace builtin_defs

} // namespace sieve

#endif // SIEVE_PATTERNS_SIEVEBUILTINS_H
