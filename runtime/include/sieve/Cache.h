//===- Cache.h - The compiled-kernel cache ----------------------*- C++ -*-===//
//
// Part of sieve's public runtime API (no MLIR or LLVM types). Compiled
// kernels are kept in memory and on disk, keyed by a SHA-256 over everything
// that determines the binary: the canonical pattern, the generated source,
// every compile option, the NVRTC version, the architecture and sieve's
// version. Disk entries carry a checksum that is verified on load; writes go
// to a temporary file that is renamed into place; a per-key lock (a mutex
// within the process, flock across processes) with a re-check after taking
// it makes concurrent users compile a kernel once.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_CACHE_H
#define SIEVE_RUNTIME_CACHE_H

#include "sieve/Jit.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sieve {

/// The SHA-256 of `data` as 64 lowercase hex digits.
std::string sha256Hex(const std::string &data);

/// Builds a cache key from named parts; every part changes the key.
class CacheKey {
public:
  CacheKey &add(const std::string &name, const std::string &value);
  /// The SHA-256 over the length-prefixed parts, in order.
  std::string hex() const { return sha256Hex(text); }

private:
  std::string text;
};

/// Where the cache lives: $SIEVE_CACHE_DIR, else $XDG_CACHE_HOME/sieve,
/// else $HOME/.cache/sieve (empty when none is set).
std::string defaultCacheDirectory();

class KernelCache {
public:
  /// A cache in `directory` (created when needed); an empty directory keeps
  /// entries in memory only.
  explicit KernelCache(std::string directory);

  /// The process-wide cache in defaultCacheDirectory().
  static KernelCache &global();

  using CompileFn = std::function<Status(std::vector<char> &binary)>;

  /// Returns the binary for `key`: from memory, else from disk (when its
  /// checksum verifies), else by calling `compile` once and storing the
  /// result. `source` says where it came from ("memory", "disk", "compiled").
  Status getOrCompile(const std::string &key, const CompileFn &compile,
                      std::vector<char> &binary, std::string *source = nullptr);

  /// The file an entry is stored in ("" for a memory-only cache).
  std::string entryPath(const std::string &key) const;

private:
  std::string directory;
  std::mutex mapMutex;
  std::map<std::string, std::vector<char>> memory;
  std::map<std::string, std::unique_ptr<std::mutex>> keyLocks;

  std::mutex &lockFor(const std::string &key);
  bool loadEntry(const std::string &key, std::vector<char> &binary) const;
  Status storeEntry(const std::string &key, const std::vector<char> &binary) const;
};

} // namespace sieve

#endif // SIEVE_RUNTIME_CACHE_H
