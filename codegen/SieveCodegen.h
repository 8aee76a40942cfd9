//===- SieveCodegen.h - CUDA source from a lowered plan ---------*- C++ -*-===//
//
// The code generator reads a forward `sieve.plan` and the pattern it walks,
// and emits one self-contained CUDA source: the kernel ABI header, the walk
// rules and predicate arithmetic shared with the host planner, the
// hand-written kernel library (codegen/kernels), and a small generated part:
// the pattern (element mask and walk rules composed from the shared ones),
// the kernel's constexpr configuration, and a few-line entry point. NVRTC
// compiles it with no include path and no toolkit header.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_CODEGEN_SIEVECODEGEN_H
#define SIEVE_CODEGEN_SIEVECODEGEN_H

#include "codegen/SieveKernels.h"
#include "dialect/SieveMask.h"
#include "mlir/Support/LogicalResult.h"

#include <string>

namespace sieve {
class PlanOp;
} // namespace sieve

namespace sieve::codegen {

/// The pattern-specific code: in namespace `ns`, `struct Pattern` with
/// kBlockQ, kBlockK, `mask(q, k)` and `Rules<transposed>` (the walk answers,
/// composed from SieveWalkRules.h). Needs walkLibrarySource() before it; also
/// compiles as host C++ (the tests do).
std::string emitPatternCode(const mask::Pattern &pattern, const std::string &ns = "sieve_gen");

/// The source of the kernel `config` names, walking `plan` (a forward plan
/// whose tile equals the kernel's). Emits an error on the plan and fails when
/// the plan does not fit the kernel.
mlir::FailureOr<std::string> emitKernelSource(PlanOp plan, const KernelConfig &config);

/// What emitPatternCode's output needs: the predicate arithmetic and the walk
/// rules, as embedded at build time.
std::string walkLibrarySource();

} // namespace sieve::codegen

#endif // SIEVE_CODEGEN_SIEVECODEGEN_H
