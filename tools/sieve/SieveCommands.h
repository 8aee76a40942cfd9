//===- SieveCommands.h - The subcommands of the sieve CLI -------*- C++ -*-===//

#ifndef SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H
#define SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H

#include <string>

namespace sieve::cli {

struct CompileOptions {
  std::string spec = "builtin:power_attention";
  std::string pattern; ///< Which pattern of a .mlir spec.
  std::string emit = "mlir";
  std::string output = "-";
};

/// `sieve list`: one built-in per line, name first.
int runList();
/// `sieve compile`.
int runCompile(const CompileOptions &options);

} // namespace sieve::cli

#endif // SIEVE_TOOLS_SIEVE_SIEVECOMMANDS_H
