//===- SieveCompileInternal.h - Pattern to binary (not installed) -*- C++ -*-===//

#ifndef SIEVE_RUNTIME_SIEVECOMPILEINTERNAL_H
#define SIEVE_RUNTIME_SIEVECOMPILEINTERNAL_H

#include "sieve/Jit.h"

#include <string>
#include <vector>

namespace sieve {
class PatternOp;

/// Compiles `source` (the pattern's generated kernel) to "ptx" or "cubin"
/// for `arch` through the kernel cache, keyed by the pattern's canonical
/// form, the source, the arch, the output kind, NVRTC's and sieve's versions.
/// A cache that cannot be used adds to `warnings` (stderr when null).
Status compilePatternKernel(PatternOp pattern, const std::string &source,
                            const std::string &arch, const std::string &output,
                            bool useCache, const std::vector<std::string> &nvrtcOptions,
                            std::vector<char> &binary,
                            std::string *from = nullptr,
                            std::vector<std::string> *warnings = nullptr);

/// The warning for a pattern that provably attends nothing.
std::string emptyPatternWarning(const std::string &name);
} // namespace sieve

#endif // SIEVE_RUNTIME_SIEVECOMPILEINTERNAL_H
