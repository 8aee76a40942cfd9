//===- Cache.h - The compiled-kernel cache ----------------------*- C++ -*-===//
//
// Part of sieve's public runtime API (no MLIR or LLVM types). Compiled
// kernels are kept in memory and on disk, keyed by a SHA-256 over everything
// that determines the binary: the canonical pattern, the generated source,
// every compile option, the NVRTC version, the architecture and sieve's
// version. Disk entries carry their key and a checksum over key and payload,
// both verified on load together with the payload's kind; writes go to a
// temporary file created exclusively and renamed into place; a per-key lock
// (a mutex within the process, flock across processes) with a re-check after
// taking it makes concurrent users compile a kernel once.
//
// The disk cache trusts only the current user (docs/kernels.md, "The
// cache"): its directory must be owned by the user and not writable by
// others unless it has the sticky bit; entries are read only when they are
// regular files owned by the user, and symbolic links are never followed.
// When the disk cache cannot be used, the kernel is still compiled and
// returned, with a warning.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_CACHE_H
#define SIEVE_RUNTIME_CACHE_H

#include "sieve/Jit.h"
#include "sieve/sieve_export.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sieve {

SIEVE_API_BEGIN

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

/// Whether `payload` starts like an ELF image (a cubin).
bool looksLikeCubin(const std::vector<char> &payload);
/// Whether `payload` is plausible PTX: non-empty printable ASCII text.
bool looksLikePtx(const std::vector<char> &payload);

class KernelCache {
public:
  /// A cache in `directory` (created when needed); an empty directory keeps
  /// entries in memory only.
  explicit KernelCache(std::string directory);

  /// The process-wide cache in defaultCacheDirectory().
  static KernelCache &global();

  using CompileFn = std::function<Status(std::vector<char> &binary)>;
  /// Whether a payload read from disk is of the expected kind.
  using CheckFn = std::function<bool(const std::vector<char> &payload)>;

  /// The largest disk entry that is read (larger ones are ignored).
  static constexpr size_t kMaxEntryBytes = size_t(256) << 20;

  /// Returns the binary for `key` (1 to 128 of [A-Za-z0-9_-]): from memory,
  /// else from disk (when the entry holds this key, its checksum verifies
  /// and `check`, if given, accepts the payload), else by calling `compile`
  /// once and storing the result. `source` says where it came from
  /// ("memory", "disk", "compiled"). A disk cache that cannot be used or
  /// written is not an error: the binary is still returned and the reason
  /// is appended to `warnings`, or printed to stderr as "sieve: warning:"
  /// when `warnings` is null.
  Status getOrCompile(const std::string &key, const CompileFn &compile,
                      std::vector<char> &binary, std::string *source = nullptr,
                      std::vector<std::string> *warnings = nullptr,
                      const CheckFn &check = {});

  /// The file an entry is stored in ("" for a memory-only cache).
  std::string entryPath(const std::string &key) const;

private:
  std::string directory;
  std::mutex mapMutex;
  std::map<std::string, std::vector<char>> memory;
  std::map<std::string, std::unique_ptr<std::mutex>> keyLocks;

  std::mutex &lockFor(const std::string &key);
};

SIEVE_API_END

} // namespace sieve

#endif // SIEVE_RUNTIME_CACHE_H
