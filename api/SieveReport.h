//===- SieveReport.h - What sieve reports about patterns, as JSON -*- C++ -*-===//
//
// The JSON documents that `sieve list --json`, `sieve inspect --json` and the
// C API (sieve_builtins_json, sieve_inspect_json, ...) share, made in one
// place so that every caller prints the same contract.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_API_SIEVEREPORT_H
#define SIEVE_API_SIEVEREPORT_H

#include "passes/SieveAnalysis.h"
#include "sieve/Jit.h"

#include <nlohmann/json.hpp>

#include <string>

namespace sieve::api {

/// The built-ins in `sieve list` order: name, description, the spec's
/// default block size and each parameter (name, description, default, list,
/// min, max).
nlohmann::ordered_json builtinsJson();

/// The kernel table: name, operation, kv_layout, summary, needs, verified.
nlohmann::ordered_json kernelVariantsJson();

/// `sieve inspect --json`: the analysis of `pattern` at its tile size, with
/// FLOPs for `headDim`, and the time the analysis took.
nlohmann::ordered_json inspectJson(const mask::Pattern &pattern, const plan::Analysis &analysis,
                                   int64_t headDim, double milliseconds);

/// Loads `spec` ("builtin:NAME", a .json/.mlir path or JSON text), checks
/// the options (a length in [1, 2^24], tiles in [1, 4096], layers in [1,
/// 100000], a head dim in [1, 1024]) and analyses it: inspectJson's object.
Status inspectSpec(const std::string &spec, const plan::AnalysisOptions &options,
                   nlohmann::ordered_json &out);

} // namespace sieve::api

#endif // SIEVE_API_SIEVEREPORT_H
