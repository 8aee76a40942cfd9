//===- SieveKernelCache.cpp - The compiled-kernel cache ---------*- C++ -*-===//
//
// Disk entry layout: "SIEVECB1", the payload's SHA-256 (64 hex digits), the
// payload size as 16 hex digits, then the payload. Anything that does not
// verify is treated as absent and overwritten.
//
//===----------------------------------------------------------------------===//

#include "sieve/Cache.h"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace sieve;

namespace {
constexpr char kMagic[] = "SIEVECB1";
constexpr size_t kHeader = 8 + 64 + 16;

/// Creates `dir` and its parents.
bool makeDirectories(const std::string &dir) {
  std::string path;
  std::stringstream parts(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/')
    path = "/";
  while (std::getline(parts, part, '/')) {
    if (part.empty())
      continue;
    path += part + "/";
    if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return false;
  }
  return true;
}

/// An exclusive flock on a file, released when it goes out of scope.
class FileLock {
public:
  explicit FileLock(const std::string &path) {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
      ::flock(fd, LOCK_EX);
  }
  ~FileLock() {
    if (fd >= 0) {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  }

private:
  int fd = -1;
};
} // namespace

CacheKey &CacheKey::add(const std::string &name, const std::string &value) {
  text += name + ":" + std::to_string(value.size()) + ":" + value + "\n";
  return *this;
}

std::string sieve::defaultCacheDirectory() {
  if (const char *dir = std::getenv("SIEVE_CACHE_DIR"))
    return dir;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg)
    return std::string(xdg) + "/sieve";
  if (const char *home = std::getenv("HOME"); home && *home)
    return std::string(home) + "/.cache/sieve";
  return "";
}

KernelCache::KernelCache(std::string directory) : directory(std::move(directory)) {}

KernelCache &KernelCache::global() {
  static KernelCache cache(defaultCacheDirectory());
  return cache;
}

std::string KernelCache::entryPath(const std::string &key) const {
  return directory.empty() ? "" : directory + "/" + key + ".cubin";
}

std::mutex &KernelCache::lockFor(const std::string &key) {
  std::lock_guard<std::mutex> guard(mapMutex);
  std::unique_ptr<std::mutex> &m = keyLocks[key];
  if (!m)
    m = std::make_unique<std::mutex>();
  return *m;
}

bool KernelCache::loadEntry(const std::string &key, std::vector<char> &binary) const {
  if (directory.empty())
    return false;
  std::ifstream in(entryPath(key), std::ios::binary);
  if (!in)
    return false;
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (data.size() < kHeader || data.compare(0, 8, kMagic) != 0)
    return false;
  std::string sum = data.substr(8, 64);
  size_t size = std::strtoull(data.substr(72, 16).c_str(), nullptr, 16);
  if (size != data.size() - kHeader)
    return false;
  std::string payload = data.substr(kHeader);
  if (sha256Hex(payload) != sum)
    return false;
  binary.assign(payload.begin(), payload.end());
  return true;
}

Status KernelCache::storeEntry(const std::string &key,
                               const std::vector<char> &binary) const {
  if (directory.empty())
    return Status::success();
  if (!makeDirectories(directory))
    return Status::error("cannot create the cache directory '" + directory +
                         "': " + std::strerror(errno));
  static std::atomic<unsigned> counter{0};
  std::string tmp = entryPath(key) + ".tmp." + std::to_string(::getpid()) + "." +
                    std::to_string(counter++);
  std::string payload(binary.begin(), binary.end());
  char size[17];
  std::snprintf(size, sizeof size, "%016zx", payload.size());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << kMagic << sha256Hex(payload) << size << payload;
    if (!out.flush())
      return Status::error("cannot write the cache entry '" + tmp + "'");
  }
  // rename() replaces the entry atomically: readers see the old or the new.
  if (std::rename(tmp.c_str(), entryPath(key).c_str()) != 0) {
    std::remove(tmp.c_str());
    return Status::error("cannot store the cache entry '" + entryPath(key) +
                         "': " + std::strerror(errno));
  }
  return Status::success();
}

Status KernelCache::getOrCompile(const std::string &key, const CompileFn &compile,
                                 std::vector<char> &binary, std::string *source) {
  auto from = [&](const char *where) {
    if (source)
      *source = where;
  };
  std::lock_guard<std::mutex> keyGuard(lockFor(key));
  {
    std::lock_guard<std::mutex> guard(mapMutex);
    if (auto it = memory.find(key); it != memory.end()) {
      binary = it->second;
      from("memory");
      return Status::success();
    }
  }
  std::unique_ptr<FileLock> fileLock;
  if (!directory.empty() && makeDirectories(directory))
    fileLock = std::make_unique<FileLock>(entryPath(key) + ".lock");
  // Re-check under the lock: another process may have just stored it.
  if (loadEntry(key, binary)) {
    from("disk");
  } else {
    Status s = compile(binary);
    if (!s)
      return s;
    if (Status stored = storeEntry(key, binary); !stored)
      return stored;
    from("compiled");
  }
  std::lock_guard<std::mutex> guard(mapMutex);
  memory[key] = binary;
  return Status::success();
}
