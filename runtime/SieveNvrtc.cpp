//===- SieveNvrtc.cpp - NVRTC through dlopen --------------------*- C++ -*-===//
//
// Only the handful of NVRTC entry points sieve uses, declared here with their
// documented C signatures, so no CUDA header is needed to build sieve and no
// CUDA library to start it. The library is looked up as libnvrtc.so.13, then
// libnvrtc.so, then under $CUDA_HOME/lib64 and /usr/local/cuda/lib64;
// SIEVE_NVRTC_LIBRARY names it explicitly, and then it is the only one tried.
//
//===----------------------------------------------------------------------===//

#include "sieve/Jit.h"

#include <chrono>
#include <cstdlib>
#include <dlfcn.h>
#include <mutex>
#include <regex>
#include <sstream>

using namespace sieve;

namespace {
using nvrtcProgram = struct _nvrtcProgram *;
using nvrtcResult = int;

struct Nvrtc {
  void *handle = nullptr;
  std::string error;
  nvrtcResult (*create)(nvrtcProgram *, const char *, const char *, int,
                        const char *const *, const char *const *) = nullptr;
  nvrtcResult (*compile)(nvrtcProgram, int, const char *const *) = nullptr;
  nvrtcResult (*destroy)(nvrtcProgram *) = nullptr;
  nvrtcResult (*logSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*log)(nvrtcProgram, char *) = nullptr;
  nvrtcResult (*ptxSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*ptx)(nvrtcProgram, char *) = nullptr;
  nvrtcResult (*cubinSize)(nvrtcProgram, size_t *) = nullptr;
  nvrtcResult (*cubin)(nvrtcProgram, char *) = nullptr;
  const char *(*errorString)(nvrtcResult) = nullptr;
  nvrtcResult (*version)(int *, int *) = nullptr;
};

template <typename Fn> bool bind(void *h, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(dlsym(h, name));
  return fn != nullptr;
}

const Nvrtc &nvrtc() {
  static Nvrtc lib;
  static std::once_flag once;
  std::call_once(once, [] {
    // An explicit library is the only one tried: falling back to another
    // would hide a typo or a broken install.
    std::vector<std::string> candidates;
    const char *explicitPath = std::getenv("SIEVE_NVRTC_LIBRARY");
    if (explicitPath) {
      candidates.push_back(explicitPath);
    } else {
      candidates.push_back("libnvrtc.so.13");
      candidates.push_back("libnvrtc.so");
      if (const char *home = std::getenv("CUDA_HOME"))
        candidates.push_back(std::string(home) + "/lib64/libnvrtc.so");
      candidates.push_back("/usr/local/cuda/lib64/libnvrtc.so");
    }
    std::string loaded, why;
    for (const std::string &c : candidates) {
      // dlopen("") would return the main program, which has no NVRTC.
      if (!c.empty() && (lib.handle = dlopen(c.c_str(), RTLD_NOW | RTLD_LOCAL))) {
        loaded = c;
        break;
      }
      const char *e = c.empty() ? nullptr : dlerror();
      why = e ? e : "an empty path";
    }
    if (!lib.handle) {
      lib.error = explicitPath
                      ? "cannot load NVRTC from SIEVE_NVRTC_LIBRARY='" +
                            std::string(explicitPath) + "': " + why
                      : "NVRTC not found (tried libnvrtc.so.13, libnvrtc.so and "
                        "/usr/local/cuda/lib64; last: " + why +
                            "); install the CUDA toolkit's NVRTC or set SIEVE_NVRTC_LIBRARY";
      return;
    }
    const char *missing = nullptr;
    auto need = [&](const char *name, auto &fn) {
      if (!missing && !bind(lib.handle, name, fn))
        missing = name;
    };
    need("nvrtcCreateProgram", lib.create);
    need("nvrtcCompileProgram", lib.compile);
    need("nvrtcDestroyProgram", lib.destroy);
    need("nvrtcGetProgramLogSize", lib.logSize);
    need("nvrtcGetProgramLog", lib.log);
    need("nvrtcGetPTXSize", lib.ptxSize);
    need("nvrtcGetPTX", lib.ptx);
    need("nvrtcGetCUBINSize", lib.cubinSize);
    need("nvrtcGetCUBIN", lib.cubin);
    need("nvrtcGetErrorString", lib.errorString);
    need("nvrtcVersion", lib.version);
    if (missing) {
      lib.error = "the NVRTC library '" + loaded + "' lacks " + missing +
                  ", an entry point sieve needs";
      lib.handle = nullptr;
    }
  });
  return lib;
}

/// Destroys the program however compileCuda returns.
struct ProgramGuard {
  const Nvrtc &lib;
  nvrtcProgram program = nullptr;
  ~ProgramGuard() {
    if (program)
      lib.destroy(&program);
  }
};
} // namespace

bool sieve::isSupportedArch(const std::string &arch) {
  static const std::regex form("sm_(75|80|86|87|89|90|90a|100|100a|103|110|120|121)");
  return std::regex_match(arch, form);
}

Status sieve::nvrtcVersion(std::string &version) {
  const Nvrtc &lib = nvrtc();
  if (!lib.handle)
    return Status::error(lib.error);
  int major = 0, minor = 0;
  lib.version(&major, &minor);
  version = std::to_string(major) + "." + std::to_string(minor);
  return Status::success();
}

Status sieve::compileCuda(const std::string &source, const std::string &name,
                          const JitOptions &options, JitResult &result) {
  if (!isSupportedArch(options.arch))
    return Status::error("unsupported architecture '" + options.arch +
                         "'; expected sm_75, sm_80, sm_86, sm_89, sm_90, sm_90a, "
                         "sm_100 or newer");
  const Nvrtc &lib = nvrtc();
  if (!lib.handle)
    return Status::error(lib.error);
  auto start = std::chrono::steady_clock::now();
  ProgramGuard guard{lib};
  nvrtcResult rc = lib.create(&guard.program, source.c_str(), name.c_str(), 0,
                              nullptr, nullptr);
  if (rc != 0)
    return Status::error(std::string("nvrtcCreateProgram: ") + lib.errorString(rc));
  result.options = {"--std=c++17", "--gpu-architecture=" + options.arch,
                    "-default-device"};
  result.options.insert(result.options.end(), options.extraOptions.begin(),
                        options.extraOptions.end());
  std::vector<const char *> argv;
  for (const std::string &o : result.options)
    argv.push_back(o.c_str());
  rc = lib.compile(guard.program, int(argv.size()), argv.data());
  // The log explains a failure, so read it before looking at the status.
  size_t size = 0;
  lib.logSize(guard.program, &size);
  result.log.assign(size, '\0');
  if (size)
    lib.log(guard.program, result.log.data());
  while (!result.log.empty() && (result.log.back() == '\0' || result.log.back() == '\n'))
    result.log.pop_back();
  if (rc != 0)
    return Status::error(std::string("NVRTC failed to compile ") + name + " (" +
                         lib.errorString(rc) + "):\n" + result.log);
  lib.ptxSize(guard.program, &size);
  result.ptx.assign(size, '\0');
  lib.ptx(guard.program, result.ptx.data());
  while (!result.ptx.empty() && result.ptx.back() == '\0')
    result.ptx.pop_back();
  lib.cubinSize(guard.program, &size);
  result.cubin.resize(size);
  lib.cubin(guard.program, result.cubin.data());
  result.milliseconds = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - start).count();
  return Status::success();
}

bool sieve::parsePtxasLog(const std::string &log, const std::string &function,
                          KernelResources &out) {
  out = KernelResources();
  out.function = function;
  std::istringstream lines(log);
  std::string line;
  bool inFunction = false, found = false;
  static const std::regex entry(R"(Compiling entry function '([^']+)')");
  static const std::regex frame(
      R"((\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads)");
  static const std::regex used(R"(Used (\d+) registers)");
  static const std::regex smem(R"((\d+) bytes smem)");
  while (std::getline(lines, line)) {
    std::smatch m;
    if (line.find("ptxas warning") != std::string::npos || line.find("warning :") != std::string::npos)
      out.warnings.push_back(line);
    if (std::regex_search(line, m, entry)) {
      inFunction = m[1] == function;
      found |= inFunction;
      continue;
    }
    if (!inFunction)
      continue;
    if (std::regex_search(line, m, frame)) {
      out.stackBytes = std::stoi(m[1]);
      out.spillStoreBytes = std::stoi(m[2]);
      out.spillLoadBytes = std::stoi(m[3]);
    }
    if (std::regex_search(line, m, used)) {
      out.registers = std::stoi(m[1]);
      if (std::regex_search(line, m, smem))
        out.sharedBytes = std::stoi(m[1]);
    }
  }
  return found && out.registers > 0;
}
