//===- SieveJsonImporter.h - JSON spec format v1 -> sieve IR ----*- C++ -*-===//

#ifndef SIEVE_PATTERNS_SIEVEJSONIMPORTER_H
#define SIEVE_PATTERNS_SIEVEJSONIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <string_view>

namespace sieve {

/// Why a spec was rejected: a place in the document and what was expected.
struct SpecError {
  /// "line 3, column 7" for syntax errors, else "at /mask/union/1/window".
  std::string where;
  std::string message;
  /// "<where>: <message>".
  std::string str() const { return where + ": " + message; }
};

/// Imports a JSON spec (format v1, docs/spec-format.md) into a new module
/// holding one verified `sieve.pattern`. `fileName` only labels locations.
/// Returns null and fills `error` when the spec is invalid; never aborts.
mlir::OwningOpRef<mlir::ModuleOp> importJsonSpec(std::string_view text,
                                                 std::string_view fileName,
                                                 mlir::MLIRContext *context,
                                                 SpecError &error);

} // namespace sieve

#endif // SIEVE_PATTERNS_SIEVEJSONIMPORTER_H
