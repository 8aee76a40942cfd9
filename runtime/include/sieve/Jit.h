//===- Jit.h - Run-time compilation of CUDA source with NVRTC ---*- C++ -*-===//
//
// Part of sieve's public runtime API: no MLIR or LLVM types. NVRTC is loaded
// with dlopen on first use, so programs built against sieve start on machines
// without CUDA and report its absence as an error.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_JIT_H
#define SIEVE_RUNTIME_JIT_H

#include "sieve/sieve_export.h"

#include <string>
#include <vector>

namespace sieve {

SIEVE_API_BEGIN

/// The outcome of a runtime call: ok, or a message that says what failed,
/// with the library's own status and log where there is one.
struct Status {
  bool ok = true;
  std::string message;
  static Status success() { return {}; }
  static Status error(std::string m) { return {false, std::move(m)}; }
  explicit operator bool() const { return ok; }
};

struct JitOptions {
  /// "sm_80", "sm_90", "sm_90a", ...: cubin for that exact architecture.
  std::string arch = "sm_90";
  /// Extra NVRTC options, e.g. "--ptxas-options=-v".
  std::vector<std::string> extraOptions;
};

struct JitResult {
  std::string ptx;
  std::vector<char> cubin;
  std::string log; ///< NVRTC's log (warnings; ptxas output with -v).
  double milliseconds = 0;
  std::vector<std::string> options; ///< What NVRTC was given.
};

/// What ptxas reported for one kernel (NVRTC option --ptxas-options=-v).
struct KernelResources {
  std::string function;
  int registers = 0;
  int stackBytes = 0, spillStoreBytes = 0, spillLoadBytes = 0;
  int sharedBytes = 0; ///< Static shared memory (sieve's kernels use dynamic).
  std::vector<std::string> warnings; ///< ptxas warnings, e.g. C7508 (wgmma serialised).
};

/// Reads ptxas's -v report for entry `function` from an NVRTC log; false
/// when the log holds none for it.
bool parsePtxasLog(const std::string &log, const std::string &function, KernelResources &out);

/// What a sieve cubin declares about its launch (sieve_launch_info in
/// sieve/sieve_kernel_abi.h), read from the cubin's ELF image without a
/// driver or a GPU: the `sieve_launch` constant's initial value.
struct CubinLaunchInfo {
  int abiVersion = 0, operation = 0, kvLayout = 0, dtype = 0, headDim = 0;
  int tileQ = 0, tileK = 0, threads = 0;
  int sharedBytes = 0;    ///< Dynamic shared memory of the main entry.
  int combineThreads = 0; ///< Decode: the combine's block size.
  int auxSharedBytes = 0; ///< Backward: the dq entry's shared memory.
  int tensorMaps = 0;     ///< Forward: TMA tensor maps after the params.
  int auxThreads = 0;     ///< Backward: pre, post and dq's block size (0: threads).
  int headSplit = 0;      ///< Backward: 1 if the main entry splits a KV group's heads.
};
/// Fails with a message when `cubin` is not a 64-bit ELF image, has no
/// symbol table or no `sieve_launch` of the expected size, or the symbol's
/// data lies outside the image.
Status readCubinLaunchInfo(const std::vector<char> &cubin, CubinLaunchInfo &out);
/// The bytes of machine code of entry `function` (its `.text.<function>`
/// section), read from the cubin's ELF image. A short kernel fetches its
/// code cold on every SM, so the size is a cost of its own (docs/decode.md).
Status readCubinCodeBytes(const std::vector<char> &cubin, const std::string &function,
                          uint64_t &bytes);

/// Compiles self-contained CUDA source to PTX and a cubin for options.arch.
Status compileCuda(const std::string &source, const std::string &name,
                   const JitOptions &options, JitResult &result);

/// NVRTC's version as "major.minor", or an error when NVRTC cannot be loaded.
Status nvrtcVersion(std::string &version);

/// Whether `arch` names a target NVRTC can build cubins for ("sm_75" ...).
bool isSupportedArch(const std::string &arch);

SIEVE_API_END

} // namespace sieve

#endif // SIEVE_RUNTIME_JIT_H
