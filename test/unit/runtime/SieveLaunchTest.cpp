//===- SieveLaunchTest.cpp - Launch arguments are validated ---------===//
//
// Every argument problem is reported before anything touches memory, so
// these run without a GPU (the pointers are never dereferenced). The GPU
// launch itself is tested on a GPU machine (`sieve run --check`).
//
//===----------------------------------------------------------------------===//

#include "sieve/Attention.h"

#include <gtest/gtest.h>

using namespace sieve;

namespace {
// Fake, 16-byte aligned device addresses.
void *addr(uintptr_t a) { return reinterpret_cast<void *>(a); }

AttentionArgs valid() {
  AttentionArgs a;
  // 4 GiB apart: the tensors' address ranges are disjoint.
  a.q = addr(0x100000000), a.k = addr(0x200000000), a.v = addr(0x300000000),
  a.o = addr(0x400000000);
  a.batch = 2, a.heads = 8, a.kvHeads = 2, a.qLen = 77, a.kLen = 4097, a.headDim = 128;
  a.setContiguousStrides();
  return a;
}

std::string problem(const AttentionArgs &a) {
  Status s = validateLaunch(a, KernelInfo());
  return s ? "" : s.message;
}
} // namespace

TEST(SieveLaunch, AValidLaunchPasses) {
  EXPECT_EQ(problem(valid()), "");
  AttentionArgs a = valid();
  a.lse = reinterpret_cast<float *>(addr(0x500000000));
  EXPECT_EQ(problem(a), "");
}

TEST(SieveLaunch, EachProblemIsNamed) {
  struct Case {
    void (*edit)(AttentionArgs &);
    const char *message;
  };
  const Case cases[] = {
      {[](AttentionArgs &a) { a.q = nullptr; }, "q is null"},
      {[](AttentionArgs &a) { a.o = nullptr; }, "o is null"},
      {[](AttentionArgs &a) { a.k = addr(0x200000008); }, "k is not 16-byte aligned"},
      {[](AttentionArgs &a) { a.lse = reinterpret_cast<float *>(addr(0x500000002)); },
       "lse is not 4-byte aligned"},
      {[](AttentionArgs &a) { a.batch = 0; }, "batch must be at least 1 but is 0"},
      {[](AttentionArgs &a) { a.qLen = -1; }, "query length must be at least 1 but is -1"},
      {[](AttentionArgs &a) { a.kLen = 0; }, "key length must be at least 1 but is 0"},
      {[](AttentionArgs &a) { a.qLen = 5000; },
       "query length 5000 exceeds key length 4097 (queries are aligned to the end of the keys)"},
      {[](AttentionArgs &a) { a.kvHeads = 3; }, "heads (8) must be a multiple of kv heads (3)"},
      {[](AttentionArgs &a) { a.headDim = 64; },
       "the kernel was compiled for head dim 128 but the launch has 64"},
      {[](AttentionArgs &a) { a.dtype = ElementType::FP16; },
       "the kernel was compiled for bf16 but the launch has fp16"},
      {[](AttentionArgs &a) { a.heads = 70000, a.kvHeads = 1; },
       "heads and batch must be at most 65535 (grid limits)"},
      {[](AttentionArgs &a) { a.scale = -1; },
       "the softmax scale must be finite and non-negative (0 = default)"},
      {[](AttentionArgs &a) { a.qStride[2] = 100; },
       "q strides must be non-negative multiples of 8 elements (16-byte rows) but are"},
      {[](AttentionArgs &a) { a.vStride[2] = 64; }, "v row stride 64 is smaller than the head dim 128"},
      {[](AttentionArgs &a) { a.oStride[1] = 128; }, "o strides make elements overlap"},
      {[](AttentionArgs &a) { a.oStride[0] = 0; }, "o strides make elements overlap"},
      // A byte extent that wraps must not pass the overlap check (2^62 * 2
      // elements is past 2^63).
      {[](AttentionArgs &a) { a.batch = 3, a.oStride[0] = int64_t(1) << 62; },
       "o strides [4611686018427387904, 9856, 128] make the tensor extend past the end of "
       "the address space"},
      {[](AttentionArgs &a) { a.qStride[0] = int64_t(1) << 62; },
       "q strides [4611686018427387904, 9856, 128] make the tensor extend past the end"},
      // What the kernel writes may not alias what it reads or writes.
      {[](AttentionArgs &a) { a.o = const_cast<void *>(a.q); }, "o shares memory with q"},
      {[](AttentionArgs &a) { a.o = addr(0x200000000 + 4096); }, "o shares memory with k"},
      {[](AttentionArgs &a) { a.v = addr(0x400000000 - 4096); }, "o shares memory with v"},
      {[](AttentionArgs &a) { a.lse = static_cast<float *>(a.o) + 1000; },
       "lse shares memory with o"},
      {[](AttentionArgs &a) { a.lse = reinterpret_cast<float *>(const_cast<void *>(a.k)); },
       "lse shares memory with k"},
      {[](AttentionArgs &a) { a.lse = reinterpret_cast<float *>(~uintptr_t(0) - 15); },
       "lse extends past the end of the address space"},
  };
  for (const Case &c : cases) {
    AttentionArgs a = valid();
    a.lse = reinterpret_cast<float *>(addr(0x500000000));
    c.edit(a);
    std::string got = problem(a);
    EXPECT_EQ(got.rfind(c.message, 0), 0u) << "expected: " << c.message << "\ngot: " << got;
  }
}

TEST(SieveLaunch, OtherLayoutsAreAccepted) {
  // [batch, length, heads, head_dim]: heads interleaved within a row.
  AttentionArgs a = valid();
  for (int64_t *s : {a.qStride, a.oStride})
    s[2] = a.heads * a.headDim, s[1] = a.headDim, s[0] = int64_t(a.qLen) * a.heads * a.headDim;
  EXPECT_EQ(problem(a), "");
  // K and V broadcast over the batch (stride 0) are read-only: allowed.
  a.kStride[0] = a.vStride[0] = 0;
  EXPECT_EQ(problem(a), "");
}

TEST(SieveLaunch, NoDriverIsAnErrorNotACrash) {
  DeviceInfo info;
  Status s = queryDevice(0, info);
  if (s)
    GTEST_SKIP() << "a GPU is present: " << info.name;
  EXPECT_NE(s.message.find("libcuda"), std::string::npos) << s.message;
  AttentionKernel kernel;
  EXPECT_FALSE(AttentionKernel::load(std::vector<char>(16, 0), kernel));
}

// The memory helpers check their pointers before anything reaches the driver,
// so a null one is an error on every machine.
TEST(SieveLaunch, MemoryHelpersRejectNullPointers) {
  char host[16] = {};
  EXPECT_EQ(deviceAlloc(16, nullptr).message, "deviceAlloc: ptr is null");
  EXPECT_EQ(copyToDevice(nullptr, host, 16).message, "copyToDevice: destination is null");
  EXPECT_EQ(copyToDevice(addr(0x10000), nullptr, 16).message, "copyToDevice: source is null");
  EXPECT_EQ(copyToHost(host, nullptr, 16).message, "copyToHost: source is null");
  EXPECT_EQ(copyToHost(nullptr, addr(0x10000), 16).message, "copyToHost: destination is null");
}

// A failed allocation leaves a null pointer, so callers can free on every path.
TEST(SieveLaunch, AFailedAllocationLeavesNull) {
  DeviceInfo device;
  if (queryDevice(0, device))
    GTEST_SKIP() << "a GPU is present";
  void *ptr = addr(0x1234);
  EXPECT_FALSE(deviceAlloc(16, &ptr));
  EXPECT_EQ(ptr, nullptr);
}
