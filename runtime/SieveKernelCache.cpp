//===- SieveKernelCache.cpp - The compiled-kernel cache ---------*- C++ -*-===//
//
// Disk entry layout: "SIEVECB2", the key's length as 16 hex digits, the key,
// the payload's size as 16 hex digits, the SHA-256 (64 hex digits) of key,
// NUL and payload, then the payload. Anything that does not verify (another
// key, a damaged payload, the older "SIEVECB1" layout) is treated as absent
// and overwritten.
//
// Every file is reached through one descriptor of the cache directory
// (openat, renameat), so the directory whose owner and mode were checked is
// the one written, and no name inside it is followed if it is a symbolic
// link. Only POSIX I/O is used: iostreams throw from inside libstdc++ even in
// code built without exceptions.
//
//===----------------------------------------------------------------------===//

#include "sieve/Cache.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

using namespace sieve;

namespace {
constexpr char kMagic[] = "SIEVECB2";
constexpr size_t kMagicSize = sizeof kMagic - 1;

/// A file descriptor, closed when it goes out of scope.
class Fd {
public:
  Fd() = default;
  explicit Fd(int fd) : fd(fd) {}
  Fd(Fd &&other) noexcept : fd(std::exchange(other.fd, -1)) {}
  Fd &operator=(Fd &&other) noexcept {
    reset(std::exchange(other.fd, -1));
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd; }
  explicit operator bool() const { return fd >= 0; }
  void reset(int newFd = -1) {
    if (fd >= 0)
      ::close(fd);
    fd = newFd;
  }
  /// Closes now and reports whether close() succeeded (it may report a
  /// write that failed late, e.g. on NFS).
  bool close() {
    int rc = ::close(std::exchange(fd, -1));
    return rc == 0;
  }

private:
  int fd = -1;
};

std::string errnoText(int error = errno) { return std::strerror(error); }

bool isValidKey(const std::string &key) {
  if (key.empty() || key.size() > 128)
    return false;
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
      return false;
  return true;
}

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

/// Opens the cache directory (creating it when needed) and checks that no
/// one but this user can change what it holds: owned by the user, and not
/// writable by group or others unless it has the sticky bit (then others
/// may add files but not replace this user's).
Status openDirectory(const std::string &dir, Fd &out) {
  if (!makeDirectories(dir))
    return Status::error("cannot create the cache directory '" + dir + "': " + errnoText());
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0)
    return Status::error("cannot open the cache directory '" + dir + "': " + errnoText());
  if (st.st_uid != ::geteuid())
    return Status::error("the cache directory '" + dir + "' is owned by uid " +
                         std::to_string(st.st_uid) + ", not by this user (uid " +
                         std::to_string(::geteuid()) + ")");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", unsigned(st.st_mode & 07777));
    return Status::error("the cache directory '" + dir + "' is writable by others (mode " +
                         mode + ") and has no sticky bit");
  }
  out = std::move(fd);
  return Status::success();
}

/// Reads `name` in `dir` when it is a regular file owned by this user of at
/// most KernelCache::kMaxEntryBytes: never through a symbolic link, never
/// blocking on a FIFO or reading a device.
bool readEntryFile(int dir, const std::string &name, std::string &data) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  struct stat st;
  if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
      st.st_uid != ::geteuid() || st.st_size > off_t(KernelCache::kMaxEntryBytes))
    return false;
  data.clear();
  data.reserve(size_t(st.st_size));
  char buffer[1 << 16];
  while (data.size() <= KernelCache::kMaxEntryBytes) {
    ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n == 0;
    data.append(buffer, size_t(n));
  }
  return false; // it grew past the cap while being read
}

std::string hex16(size_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016zx", value);
  return text;
}

/// Parses 16 hex digits at `at` and advances past them.
bool readHex16(const std::string &data, size_t &at, size_t &value) {
  if (data.size() < at + 16)
    return false;
  value = 0;
  for (size_t i = at; i < at + 16; ++i) {
    int digit = std::isdigit(static_cast<unsigned char>(data[i])) ? data[i] - '0'
                : data[i] >= 'a' && data[i] <= 'f'                 ? data[i] - 'a' + 10
                                                                   : -1;
    if (digit < 0 || value >> 60)
      return false;
    value = value << 4 | size_t(digit);
  }
  at += 16;
  return true;
}

std::string checksum(const std::string &key, const std::string &payload) {
  return sha256Hex(key + '\0' + payload);
}

std::string frame(const std::string &key, const std::vector<char> &binary) {
  std::string payload(binary.begin(), binary.end());
  return kMagic + hex16(key.size()) + key + hex16(payload.size()) + checksum(key, payload) +
         payload;
}

/// The payload of entry `data` when it holds `key` and verifies.
bool unframe(const std::string &data, const std::string &key, std::vector<char> &binary) {
  size_t at = kMagicSize, keySize = 0, size = 0;
  if (data.compare(0, kMagicSize, kMagic) != 0 || !readHex16(data, at, keySize) ||
      keySize != key.size() || data.compare(at, keySize, key) != 0)
    return false;
  at += keySize;
  if (!readHex16(data, at, size) || data.size() < at + 64 || data.size() - at - 64 != size)
    return false;
  std::string payload = data.substr(at + 64);
  if (data.compare(at, 64, checksum(key, payload)) != 0)
    return false;
  binary.assign(payload.begin(), payload.end());
  return true;
}

bool writeAll(int fd, const std::string &data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += size_t(n);
  }
  return true;
}

/// Writes `bytes` to a fresh temporary file in `dir` and renames it to
/// `name`, leaving no temporary behind when any step fails. The temporary is
/// created with O_EXCL | O_NOFOLLOW, so a file or link planted under its name
/// is never written through.
Status storeEntry(int dir, const std::string &dirName, const std::string &name,
                  const std::string &bytes) {
  static std::atomic<unsigned> counter{0};
  std::string tmp;
  Fd fd;
  for (int attempt = 0; attempt < 16 && !fd; ++attempt) {
    auto ticks = std::chrono::steady_clock::now().time_since_epoch().count();
    tmp = name + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++) +
          "." + std::to_string(static_cast<unsigned long long>(ticks) % 1000000007ull);
    fd.reset(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0644));
    if (!fd && errno != EEXIST)
      break;
  }
  if (!fd)
    return Status::error("cannot create a temporary file in the cache directory '" + dirName +
                         "': " + errnoText());
  bool written = writeAll(fd.get(), bytes);
  int error = errno;
  if (!fd.close() && written)
    written = false, error = errno;
  if (!written) {
    ::unlinkat(dir, tmp.c_str(), 0);
    return Status::error("cannot write the cache entry '" + dirName + "/" + tmp +
                         "': " + errnoText(error));
  }
  // rename() replaces the entry atomically: readers see the old or the new.
  // It replaces a link planted at `name` itself, never its target.
  if (::renameat(dir, tmp.c_str(), dir, name.c_str()) != 0) {
    error = errno;
    ::unlinkat(dir, tmp.c_str(), 0);
    return Status::error("cannot store the cache entry '" + dirName + "/" + name +
                         "': " + errnoText(error));
  }
  return Status::success();
}

/// An exclusive flock on a lock file in the cache directory, released when
/// it goes out of scope. The file is created for this user only, so others
/// cannot open it to hold the lock; a link, a non-regular file or another
/// user's file in its place means no lock (at worst a kernel is compiled
/// twice).
class FileLock {
public:
  FileLock(int dir, const std::string &name) {
    Fd file(::openat(dir, name.c_str(),
                     O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
    struct stat st;
    if (file && ::fstat(file.get(), &st) == 0 && S_ISREG(st.st_mode) &&
        st.st_uid == ::geteuid() && ::flock(file.get(), LOCK_EX) == 0)
      fd = std::move(file);
  }
  ~FileLock() {
    if (fd)
      ::flock(fd.get(), LOCK_UN);
  }

private:
  Fd fd;
};
} // namespace

bool sieve::looksLikeCubin(const std::vector<char> &payload) {
  // ELF magic, 64-bit class, little-endian, e_machine EM_CUDA (190).
  auto byte = [&](size_t i) { return static_cast<unsigned char>(payload[i]); };
  return payload.size() >= 64 && byte(0) == 0x7f && byte(1) == 'E' && byte(2) == 'L' &&
         byte(3) == 'F' && byte(4) == 2 && byte(5) == 1 && byte(18) == 190 && byte(19) == 0;
}

bool sieve::looksLikePtx(const std::vector<char> &payload) {
  if (payload.empty())
    return false;
  for (char c : payload) {
    auto u = static_cast<unsigned char>(c);
    if (!(u == '\t' || u == '\n' || u == '\r' || (u >= 0x20 && u < 0x7f)))
      return false;
  }
  return true;
}

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

Status KernelCache::getOrCompile(const std::string &key, const CompileFn &compile,
                                 std::vector<char> &binary, std::string *source,
                                 std::vector<std::string> *warnings, const CheckFn &check) {
  if (!isValidKey(key))
    return Status::error("invalid cache key '" + key +
                         "': expected 1 to 128 characters of [A-Za-z0-9_-]");
  auto from = [&](const char *where) {
    if (source)
      *source = where;
  };
  auto warn = [&](const std::string &message) {
    if (warnings)
      warnings->push_back(message);
    else
      std::fprintf(stderr, "sieve: warning: %s\n", message.c_str());
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
  Fd dir;
  if (!directory.empty())
    if (Status s = openDirectory(directory, dir); !s)
      warn(s.message + "; the disk cache is not used");
  const std::string name = key + ".cubin";
  std::optional<FileLock> fileLock;
  if (dir)
    fileLock.emplace(dir.get(), name + ".lock");
  // Re-check under the lock: another process may have just stored it.
  std::string data;
  if (dir && readEntryFile(dir.get(), name, data) && unframe(data, key, binary) &&
      (!check || check(binary))) {
    from("disk");
  } else {
    Status s = compile(binary);
    if (!s)
      return s;
    if (dir)
      if (Status stored = storeEntry(dir.get(), directory, name, frame(key, binary)); !stored)
        warn(stored.message + "; the kernel is compiled but not cached");
    from("compiled");
  }
  std::lock_guard<std::mutex> guard(mapMutex);
  memory[key] = binary;
  return Status::success();
}
