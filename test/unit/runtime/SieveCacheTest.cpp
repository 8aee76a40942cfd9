//===- SieveCacheTest.cpp - The kernel cache ------------------------===//
//
// The cache with a stand-in compile step (no NVRTC needed): keys, memory and
// disk hits, corrupted entries, concurrent threads and processes, and hostile
// or broken cache directories.
//
//===----------------------------------------------------------------------===//

#include "sieve/Cache.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <functional>
#include <set>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

using namespace sieve;

namespace {
std::string freshDirectory(const char *name) {
  std::string dir = ::testing::TempDir() + "sieve-cache-" + name + "-" + std::to_string(::getpid());
  std::system(("rm -rf '" + dir + "'").c_str());
  return dir;
}

/// A compile step that counts its calls and returns `payload`.
KernelCache::CompileFn fakeCompile(std::atomic<int> &calls, std::string payload,
                                   int sleepMs = 0) {
  return [&calls, payload, sleepMs](std::vector<char> &out) {
    ++calls;
    if (sleepMs)
      std::this_thread::sleep_for(std::chrono::milliseconds(sleepMs));
    out.assign(payload.begin(), payload.end());
    return Status::success();
  };
}
} // namespace

TEST(SieveCache, Sha256MatchesTheStandardsVectors) {
  EXPECT_EQ(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256Hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(SieveCache, EveryPartChangesTheKey) {
  auto key = [](std::string pattern, std::string source, std::string arch,
                std::string nvrtc, std::string version) {
    return CacheKey()
        .add("pattern", pattern).add("source", source).add("arch", arch)
        .add("nvrtc", nvrtc).add("sieve", version).hex();
  };
  std::set<std::string> keys = {
      key("p", "s", "sm_90", "13.0", "0.1.0"), key("q", "s", "sm_90", "13.0", "0.1.0"),
      key("p", "t", "sm_90", "13.0", "0.1.0"), key("p", "s", "sm_80", "13.0", "0.1.0"),
      key("p", "s", "sm_90", "13.1", "0.1.0"), key("p", "s", "sm_90", "13.0", "0.2.0"),
      // Length prefixes keep shifted boundaries apart.
      key("ps", "", "sm_90", "13.0", "0.1.0")};
  EXPECT_EQ(keys.size(), 7u);
  EXPECT_EQ(key("p", "s", "sm_90", "13.0", "0.1.0"), key("p", "s", "sm_90", "13.0", "0.1.0"));
}

TEST(SieveCache, MemoryThenDiskThenCompile) {
  std::string dir = freshDirectory("layers");
  std::atomic<int> calls{0};
  std::vector<char> out;
  std::string from;
  {
    KernelCache cache(dir);
    ASSERT_TRUE(cache.getOrCompile("k1", fakeCompile(calls, "cubin-1"), out, &from));
    EXPECT_EQ(from, "compiled");
    ASSERT_TRUE(cache.getOrCompile("k1", fakeCompile(calls, "other"), out, &from));
    EXPECT_EQ(from, "memory");
    EXPECT_EQ(std::string(out.begin(), out.end()), "cubin-1");
  }
  KernelCache again(dir); // a new process, as far as memory goes
  ASSERT_TRUE(again.getOrCompile("k1", fakeCompile(calls, "other"), out, &from));
  EXPECT_EQ(from, "disk");
  EXPECT_EQ(std::string(out.begin(), out.end()), "cubin-1");
  EXPECT_EQ(calls.load(), 1);
}

TEST(SieveCache, CorruptedEntriesAreRecompiled) {
  std::string dir = freshDirectory("corrupt");
  std::atomic<int> calls{0};
  std::vector<char> out;
  std::string from;
  KernelCache(dir).getOrCompile("k", fakeCompile(calls, std::string(4096, 'x')), out);
  std::string path = KernelCache(dir).entryPath("k");
  for (int damage = 0; damage < 3; ++damage) {
    {
      std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
      std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      if (damage == 0)
        data[data.size() - 10] ^= 1; // a flipped payload bit
      else if (damage == 1)
        data.resize(data.size() / 2); // a truncated write
      else
        data = "garbage";
      std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
    }
    KernelCache fresh(dir);
    ASSERT_TRUE(fresh.getOrCompile("k", fakeCompile(calls, std::string(4096, 'x')), out, &from));
    EXPECT_EQ(from, "compiled") << "damage " << damage;
    EXPECT_EQ(out.size(), 4096u);
  }
  EXPECT_EQ(calls.load(), 4);
}

TEST(SieveCache, CompileFailuresAreReportedAndNotStored) {
  std::string dir = freshDirectory("fail");
  KernelCache cache(dir);
  std::vector<char> out;
  Status s = cache.getOrCompile("k", [](std::vector<char> &) {
    return Status::error("nvrtc said no");
  }, out);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message, "nvrtc said no");
  std::ifstream entry(cache.entryPath("k"));
  EXPECT_FALSE(entry.good());
}

TEST(SieveCache, ConcurrentThreadsAndProcessesCompileOnce) {
  std::string dir = freshDirectory("concurrent");
  const std::string payload(100000, 'z');
  // Four processes, each with four threads, race for one key.
  std::vector<pid_t> children;
  for (int p = 0; p < 4; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      KernelCache cache(dir);
      std::atomic<int> calls{0}, bad{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
          std::vector<char> out;
          Status s = cache.getOrCompile("shared", fakeCompile(calls, payload, 50), out);
          bad += !s || std::string(out.begin(), out.end()) != payload;
        });
      for (std::thread &t : threads)
        t.join();
      // Exit status: bit 0 = a wrong result, bits 1.. = compiles here.
      _exit((bad ? 1 : 0) | (calls.load() << 1));
    }
    children.push_back(pid);
  }
  int compiles = 0;
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status) & 1, 0) << "a process read a wrong binary";
    compiles += WEXITSTATUS(status) >> 1;
  }
  EXPECT_EQ(compiles, 1);
  std::atomic<int> calls{0};
  std::vector<char> out;
  std::string from;
  ASSERT_TRUE(KernelCache(dir).getOrCompile("shared", fakeCompile(calls, "x"), out, &from));
  EXPECT_EQ(from, "disk");
  EXPECT_EQ(out.size(), payload.size());
}

//===----------------------------------------------------------------------===//
// Hostile and broken caches (issue 19): nothing aborts, hangs, writes
// outside the cache or returns a binary that was not stored for the key.
//===----------------------------------------------------------------------===//

namespace {
std::vector<std::string> listDirectory(const std::string &dir) {
  std::vector<std::string> names;
  if (DIR *d = opendir(dir.c_str())) {
    while (dirent *e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..")
        names.push_back(e->d_name);
    closedir(d);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool hasTemporary(const std::string &dir) {
  for (const std::string &n : listDirectory(dir))
    if (n.find(".tmp") != std::string::npos)
      return true;
  return false;
}

std::string readAll(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Runs `body` in a child process that is killed after `seconds`; true when
/// it exited with status 0 (a crash, an abort, an exception or a hang is
/// false). The child never returns into the test runner.
bool inChild(int seconds, const std::function<bool()> &body) {
  pid_t pid = fork();
  if (pid == 0) {
    alarm(seconds);
    bool ok = false;
#if __cpp_exceptions
    try {
      ok = body();
    } catch (...) {
    }
#else
    ok = body();
#endif
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

/// A cache directory as sieve creates it, with one stored entry.
std::string cacheWith(const char *name, const std::string &key, const std::string &payload) {
  std::string dir = freshDirectory(name);
  std::atomic<int> calls{0};
  std::vector<char> out;
  EXPECT_TRUE(KernelCache(dir).getOrCompile(key, fakeCompile(calls, payload), out));
  return dir;
}
} // namespace

// Issue 19 item 1: a directory where the entry belongs is compiled around,
// with a warning, instead of an uncaught std::ios_base::failure.
TEST(SieveCacheHostile, AnEntryThatIsADirectoryIsNotFatal) {
  std::string dir = freshDirectory("isdir");
  KernelCache cache(dir);
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(cache.entryPath("k").c_str(), 0755), 0);
  ASSERT_TRUE(inChild(20, [&] {
    std::atomic<int> calls{0};
    std::vector<char> out;
    std::vector<std::string> warnings;
    std::string from;
    Status s = cache.getOrCompile("k", fakeCompile(calls, "payload"), out, &from, &warnings);
    return s && from == "compiled" && std::string(out.begin(), out.end()) == "payload" &&
           warnings.size() == 1 && warnings[0].find("cannot store the cache entry") == 0 &&
           warnings[0].find("Is a directory") != std::string::npos && !hasTemporary(dir);
  }));
}

// Item 2: links planted in the cache are never followed, for the entry, the
// lock file or the temporary file.
TEST(SieveCacheHostile, LinksInTheCacheAreNotFollowed) {
  // A valid entry for "k" elsewhere, and links to it and to outside files.
  std::string other = cacheWith("linked-target", "k", "planted");
  std::string dir = freshDirectory("links");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  KernelCache cache(dir);
  std::string entry = cache.entryPath("k");
  std::string victim = dir + ".victim", created = dir + ".created";
  std::ofstream(victim) << "precious";
  std::remove(created.c_str());
  ASSERT_EQ(symlink(KernelCache(other).entryPath("k").c_str(), entry.c_str()), 0);
  ASSERT_EQ(symlink(created.c_str(), (entry + ".lock").c_str()), 0);
  // The temporary's name before the fix.
  ASSERT_EQ(symlink(victim.c_str(),
                    (entry + ".tmp." + std::to_string(getpid()) + ".0").c_str()), 0);
  std::atomic<int> calls{0};
  std::vector<char> out;
  std::string from;
  std::vector<std::string> warnings;
  ASSERT_TRUE(cache.getOrCompile("k", fakeCompile(calls, "fresh"), out, &from, &warnings));
  EXPECT_EQ(from, "compiled") << "an entry was read through a link";
  EXPECT_EQ(std::string(out.begin(), out.end()), "fresh");
  EXPECT_EQ(readAll(victim), "precious");
  EXPECT_NE(access(created.c_str(), F_OK), 0) << "the lock link was followed";
  struct stat st;
  ASSERT_EQ(lstat(entry.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the stored entry is not a regular file";
  EXPECT_TRUE(warnings.empty());
  EXPECT_EQ(readAll(KernelCache(other).entryPath("k")).find("fresh"), std::string::npos);
}

// Item 2: a directory others can write to (without the sticky bit) or that
// another user owns is not used: a warning, no disk entry, still a binary.
TEST(SieveCacheHostile, UntrustedDirectoriesAreNotUsed) {
  std::string dir = freshDirectory("untrusted");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir.c_str(), 0777), 0);
  auto run = [&](std::vector<std::string> &warnings) {
    std::atomic<int> calls{0};
    std::vector<char> out;
    KernelCache cache(dir);
    EXPECT_TRUE(cache.getOrCompile("k", fakeCompile(calls, "x"), out, nullptr, &warnings));
    EXPECT_EQ(std::string(out.begin(), out.end()), "x");
  };
  std::vector<std::string> warnings;
  run(warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("is writable by others (mode 0777) and has no sticky bit; "
                             "the disk cache is not used"),
            std::string::npos)
      << warnings[0];
  EXPECT_TRUE(listDirectory(dir).empty());
  // With the sticky bit (like /tmp) others cannot replace this user's files.
  ASSERT_EQ(chmod(dir.c_str(), 01777), 0);
  warnings.clear();
  run(warnings);
  EXPECT_TRUE(warnings.empty());
  EXPECT_FALSE(listDirectory(dir).empty());
  if (geteuid() != 0)
    GTEST_SKIP() << "changing a directory's owner needs root";
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  warnings.clear();
  run(warnings);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("is owned by uid 65534, not by this user (uid 0)"),
            std::string::npos)
      << warnings[0];
}

// Item 2: entries another user owns are not loaded (root's cache in a
// sticky, shared directory).
TEST(SieveCacheHostile, OtherUsersEntriesAreNotLoaded) {
  if (geteuid() != 0)
    GTEST_SKIP() << "making a file another user's needs root";
  std::string dir = cacheWith("foreign", "k", "theirs");
  ASSERT_EQ(chown(KernelCache(dir).entryPath("k").c_str(), 65534, 65534), 0);
  std::atomic<int> calls{0};
  std::vector<char> out;
  std::string from;
  ASSERT_TRUE(KernelCache(dir).getOrCompile("k", fakeCompile(calls, "mine"), out, &from));
  EXPECT_EQ(from, "compiled");
  EXPECT_EQ(std::string(out.begin(), out.end()), "mine");
}

// Item 3: FIFOs, devices and oversized files in place of an entry are
// ignored at once (before the fix: a hang, bad_alloc, a 256 MiB read).
TEST(SieveCacheHostile, SpecialAndHugeEntriesAreIgnored) {
  std::string dir = freshDirectory("special");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  KernelCache cache(dir);
  ASSERT_EQ(mkfifo(cache.entryPath("fifo").c_str(), 0644), 0);
  ASSERT_EQ(symlink("/dev/zero", cache.entryPath("zero").c_str()), 0);
  {
    std::ofstream(cache.entryPath("huge")) << "SIEVECB2";
    ASSERT_EQ(truncate(cache.entryPath("huge").c_str(), off_t(KernelCache::kMaxEntryBytes) + 1),
              0);
  }
  for (const char *key : {"fifo", "zero", "huge"}) {
    EXPECT_TRUE(inChild(20, [&] {
      std::atomic<int> calls{0};
      std::vector<char> out;
      std::string from;
      KernelCache fresh(dir);
      return fresh.getOrCompile(key, fakeCompile(calls, "ok"), out, &from) &&
             from == "compiled" && std::string(out.begin(), out.end()) == "ok";
    })) << key;
  }
}

// Item 10: an entry holds its key, and a payload that is not of the
// expected kind is not returned; entries of the old layout are ignored.
TEST(SieveCacheHostile, PoisonedEntriesAreNotReturned) {
  std::string dir = cacheWith("poison", "a", "binary of a");
  KernelCache cache(dir);
  // Another key's well-formed entry copied into place.
  std::ofstream(cache.entryPath("b"), std::ios::binary) << readAll(cache.entryPath("a"));
  std::atomic<int> calls{0};
  std::vector<char> out;
  std::string from;
  ASSERT_TRUE(KernelCache(dir).getOrCompile("b", fakeCompile(calls, "binary of b"), out, &from));
  EXPECT_EQ(from, "compiled");
  EXPECT_EQ(std::string(out.begin(), out.end()), "binary of b");
  // A well-formed entry whose payload is not a cubin.
  std::string notElf = cacheWith("notelf", "c", "not an elf at all");
  ASSERT_TRUE(KernelCache(notElf).getOrCompile("c", fakeCompile(calls, "recompiled"), out, &from,
                                               nullptr, looksLikeCubin));
  EXPECT_EQ(from, "compiled");
  EXPECT_EQ(std::string(out.begin(), out.end()), "recompiled");
  // The layout before keys were stored: magic, checksum, size, payload.
  std::string payload = "old";
  char size[17];
  std::snprintf(size, sizeof size, "%016zx", payload.size());
  std::ofstream(cache.entryPath("d"), std::ios::binary)
      << "SIEVECB1" << sha256Hex(payload) << size << payload;
  ASSERT_TRUE(KernelCache(dir).getOrCompile("d", fakeCompile(calls, "new"), out, &from));
  EXPECT_EQ(from, "compiled");
  // Keys name files: nothing but [A-Za-z0-9_-].
  Status s = cache.getOrCompile("../escape", fakeCompile(calls, "x"), out);
  ASSERT_FALSE(s);
  EXPECT_NE(s.message.find("invalid cache key '../escape'"), std::string::npos) << s.message;
}

TEST(SieveCacheHostile, PayloadChecks) {
  std::vector<char> elf(64, 0);
  elf[0] = 0x7f, elf[1] = 'E', elf[2] = 'L', elf[3] = 'F', elf[4] = 2, elf[5] = 1;
  elf[18] = char(190); // EM_CUDA
  EXPECT_TRUE(looksLikeCubin(elf));
  elf[18] = 62; // x86-64
  EXPECT_FALSE(looksLikeCubin(elf));
  std::string text = "not an elf at all";
  EXPECT_FALSE(looksLikeCubin(std::vector<char>(text.begin(), text.end())));
  std::string ptx = "//\n// Generated by NVIDIA NVVM Compiler\n.version 9.0\n.target sm_90\n";
  EXPECT_TRUE(looksLikePtx(std::vector<char>(ptx.begin(), ptx.end())));
  EXPECT_FALSE(looksLikePtx({}));
  EXPECT_FALSE(looksLikePtx(std::vector<char>{'.', 'v', '\0', 'x'}));
}

// Item 9: when the entry cannot be stored the binary is still returned, with
// a warning, and no temporary file is left behind.
TEST(SieveCacheHostile, AnUnwritableCacheStillDelivers) {
  // A file where the directory should be.
  std::string file = freshDirectory("file");
  std::ofstream(file) << "not a directory";
  std::atomic<int> calls{0};
  std::vector<char> out;
  std::vector<std::string> warnings;
  ASSERT_TRUE(KernelCache(file).getOrCompile("k", fakeCompile(calls, "x"), out, nullptr,
                                             &warnings));
  EXPECT_EQ(std::string(out.begin(), out.end()), "x");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("cannot open the cache directory"), std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[0].find("Not a directory; the disk cache is not used"), std::string::npos)
      << warnings[0];
  // A full disk: writes past 1000 bytes fail (RLIMIT_FSIZE, EFBIG).
  std::string dir = freshDirectory("full");
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  EXPECT_TRUE(inChild(20, [&] {
    signal(SIGXFSZ, SIG_IGN);
    rlimit limit{1000, 1000};
    setrlimit(RLIMIT_FSIZE, &limit);
    std::atomic<int> n{0};
    std::vector<char> binary;
    std::vector<std::string> w;
    Status s = KernelCache(dir).getOrCompile("k", fakeCompile(n, std::string(4096, 'c')),
                                             binary, nullptr, &w);
    return s && binary.size() == 4096 && w.size() == 1 &&
           w[0].find("cannot write the cache entry") == 0 &&
           w[0].find("File too large; the kernel is compiled but not cached") !=
               std::string::npos;
  }));
  EXPECT_FALSE(hasTemporary(dir)) << "a temporary file was left behind";
  EXPECT_EQ(access(KernelCache(dir).entryPath("k").c_str(), F_OK), -1);
}
