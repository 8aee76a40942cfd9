//===- SieveCacheTest.cpp - The kernel cache ------------------------===//
//
// The cache with a stand-in compile step (no NVRTC needed): keys, memory and
// disk hits, corrupted entries, and concurrent threads and processes.
//
//===----------------------------------------------------------------------===//

#include "sieve/Cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
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
