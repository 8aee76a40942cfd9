//===- SieveSpec.h - Loading a pattern from a SPEC argument -----*- C++ -*-===//

#ifndef SIEVE_PATTERNS_SIEVESPEC_H
#define SIEVE_PATTERNS_SIEVESPEC_H

#include "dialect/SieveOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>

namespace sieve {

/// A verified module and the pattern in it that was asked for.
struct LoadedSpec {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  PatternOp pattern;
};

/// Loads `spec`: a `.json` file (spec format v1), a `.mlir` file holding
/// `sieve.pattern`s, `builtin:NAME`, or the text of a JSON spec (its first
/// character after white space is '{'; errors are located in "<spec>"). `patternName` picks one pattern of a
/// .mlir file that holds several. On failure returns false with a complete,
/// located message in `error` (several lines for MLIR diagnostics).
bool loadSpec(const std::string &spec, const std::string &patternName,
              mlir::MLIRContext *context, LoadedSpec &out, std::string &error);

/// Loads a spec from its text (as read from stdin): JSON when its first
/// character after white space is '{', else MLIR. `label` names it in
/// errors ("<stdin>"); `patternName` as for loadSpec.
bool loadSpecText(const std::string &text, const std::string &label,
                  const std::string &patternName, mlir::MLIRContext *context,
                  LoadedSpec &out, std::string &error);

} // namespace sieve

#endif // SIEVE_PATTERNS_SIEVESPEC_H
