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

namespace {
KernelInfo decodeKernel(bool paged) {
  KernelInfo k;
  k.operation = KernelOperation::Decode;
  k.pagedKv = paged;
  k.tileQ = 64, k.tileK = 64, k.combineThreads = 128;
  return k;
}

DecodeArgs validDecode(bool paged) {
  DecodeArgs a;
  a.q = addr(0x100000000), a.k = addr(0x200000000), a.v = addr(0x300000000),
  a.o = addr(0x400000000);
  a.batch = 3, a.heads = 32, a.kvHeads = 8, a.qLen = 4, a.kLen = 5000, a.headDim = 128;
  if (paged) {
    a.blockTable = reinterpret_cast<const int32_t *>(addr(0x600000000));
    a.pageSize = 64, a.maxPages = 79, a.numPages = 300;
  }
  a.setContiguousStrides();
  return a;
}

std::string decodeProblem(const DecodeArgs &a, bool paged, int splits = 1) {
  Status s = validateDecode(a, decodeKernel(paged), splits);
  return s ? "" : s.message;
}
} // namespace

TEST(SieveLaunch, AValidDecodeLaunchPasses) {
  EXPECT_EQ(decodeProblem(validDecode(false), false), "");
  EXPECT_EQ(decodeProblem(validDecode(true), true), "");
  DecodeArgs a = validDecode(false);
  a.cuSeqlensQ = reinterpret_cast<const int32_t *>(addr(0x700000000));
  a.cuSeqlensK = reinterpret_cast<const int32_t *>(addr(0x700001000));
  a.totalQ = 12, a.totalK = 15000;
  EXPECT_EQ(decodeProblem(a, false), "");
  a.workspace = addr(0x800000000), a.workspaceBytes = decodeWorkspaceBytes(a, 4);
  EXPECT_EQ(decodeProblem(a, false, 4), "");
}

TEST(SieveLaunch, EachDecodeProblemIsNamed) {
  struct Case {
    bool paged;
    int splits;
    void (*edit)(DecodeArgs &);
    const char *message;
  };
  const Case cases[] = {
      {false, 1, [](DecodeArgs &a) { a.q = nullptr; }, "q is null"},
      {false, 1, [](DecodeArgs &a) { a.qLen = 6000; }, "query length 6000 exceeds key length 5000"},
      {false, 1, [](DecodeArgs &a) { a.kvHeads = 5; }, "heads (32) must be a multiple of kv heads (5)"},
      {false, 0, [](DecodeArgs &) {}, "splits must be 1 to 64 (0 = auto) but is 0"},
      {false, 65, [](DecodeArgs &) {}, "splits must be 1 to 64"},
      {false, 4, [](DecodeArgs &) {}, "splits = 4 needs a workspace of"},
      {false, 4, [](DecodeArgs &a) { a.workspace = addr(0x800000000), a.workspaceBytes = 100; },
       "the workspace has 100 bytes; splits = 4 need"},
      {false, 4, [](DecodeArgs &a) { a.workspace = addr(0x800000004), a.workspaceBytes = 1 << 30; },
       "the workspace is not 16-byte aligned"},
      {false, 1, [](DecodeArgs &a) { a.cuSeqlensQ = reinterpret_cast<const int32_t *>(addr(0x700000000)); },
       "with cu_seqlens_q, totalQ"},
      {false, 1, [](DecodeArgs &a) { a.seqlensK = reinterpret_cast<const int32_t *>(addr(0x700000002)); },
       "seqlens_k is not 4-byte aligned"},
      {false, 1, [](DecodeArgs &a) { a.blockTable = reinterpret_cast<const int32_t *>(addr(0x600000000)); },
       "a block table needs a paged kernel"},
      {true, 1, [](DecodeArgs &a) { a.blockTable = nullptr; }, "a paged kernel needs a block table"},
      {true, 1, [](DecodeArgs &a) { a.pageSize = 24; }, "page size must be 16 to 256, a multiple of 16, but is 24"},
      {true, 1, [](DecodeArgs &a) { a.pageSize = 512; }, "page size must be 16 to 256"},
      {true, 1, [](DecodeArgs &a) { a.maxPages = 78; },
       "the block table has 78 pages per sequence; key length 5000 needs 79 of 64"},
      {true, 1, [](DecodeArgs &a) { a.numPages = 0; }, "numPages"},
      {true, 1, [](DecodeArgs &a) { a.o = addr(0x200000000); }, "o shares memory with k"},
      {true, 1, [](DecodeArgs &a) { a.kStride[2] = 64; }, "k row stride 64 is smaller than the head dim"},
  };
  for (const Case &c : cases) {
    DecodeArgs a = validDecode(c.paged);
    c.edit(a);
    const std::string got = decodeProblem(a, c.paged, c.splits);
    EXPECT_NE(got.find(c.message), std::string::npos) << "got: '" << got << "', want: '" << c.message << "'";
  }
  // A forward kernel is not a decode kernel.
  Status s = validateDecode(validDecode(false), KernelInfo(), 1);
  EXPECT_NE(s.message.find("this is a forward kernel"), std::string::npos) << s.message;
}

TEST(SieveLaunch, DecodeSplitsFollowTheDevice) {
  DecodeArgs a = validDecode(false);
  const KernelInfo k = decodeKernel(false);
  // 3 x 8 CTAs of one row tile (4 queries x 4 heads = 16 rows) on 132 SMs.
  EXPECT_EQ(chooseDecodeSplits(a, k, 132), 11);
  // 8 KV heads would fit 33 splits in a wave; auto stops at 16.
  a.batch = 1;
  a.kLen = 131072;
  EXPECT_EQ(chooseDecodeSplits(a, k, 132), kMaxAutoDecodeSplits);
  a.kLen = 5000;
  // One wave: 32 KV heads of one row tile take 8 splits (256 of the 264
  // places), not 9 (288: a second wave of 24 CTAs).
  a.batch = 1, a.kvHeads = 32, a.heads = 32;
  EXPECT_EQ(chooseDecodeSplits(a, k, 132), 8);
  // At most 16, and at most half the key tiles.
  const int cap = std::min(kMaxAutoDecodeSplits, 5000 / 64 / 2);
  for (int kv : {1, 2, 3, 5, 7, 8, 13, 24, 32, 64, 100, 264, 1000}) {
    a.kvHeads = kv, a.heads = kv;
    const int s = chooseDecodeSplits(a, k, 132);
    EXPECT_GE(s, 1) << kv;
    EXPECT_LE(int64_t(s) * kv, std::max(264, kv)) << kv;        // one wave
    EXPECT_TRUE(s == cap || int64_t(s + 1) * kv > 264) << kv;   // the largest one
  }
  // An SM that holds one block (head dim 128 on an sm_80's 164 KiB) halves
  // the wave.
  a.kvHeads = 32, a.heads = 32;
  EXPECT_EQ(chooseDecodeSplits(a, k, 108, 1), 3);
  EXPECT_EQ(chooseDecodeSplits(a, k, 132, 4), 16);
  a.kvHeads = 8;
  a.batch = 64; // 512 CTAs fill the device already
  EXPECT_EQ(chooseDecodeSplits(a, k, 132), 1);
  a.batch = 1, a.kvHeads = 1, a.heads = 1, a.kLen = 200; // 4 key tiles: at most 2 splits
  EXPECT_EQ(chooseDecodeSplits(a, k, 132), 2);
  EXPECT_EQ(decodeWorkspaceBytes(a, 1), 0u);
  // splits x rows x heads x (d + 1) floats, the LSE 256-byte aligned.
  a.kLen = 5000, a.qLen = 4;
  EXPECT_EQ(decodeWorkspaceBytes(a, 2), size_t(2 * 4 * 128 * 4 + 2 * 4 * 4));
}

namespace {
KernelInfo backwardKernel() {
  KernelInfo k;
  k.operation = KernelOperation::Backward;
  k.tileQ = 64, k.tileK = 64, k.threads = 128;
  return k;
}

BackwardArgs validBackward() {
  BackwardArgs a;
  // Each tensor in its own 4 GiB window.
  a.q = addr(0x100000000), a.k = addr(0x200000000), a.v = addr(0x300000000);
  a.o = addr(0x400000000), a.dO = addr(0x500000000);
  a.lse = reinterpret_cast<const float *>(addr(0x600000000));
  a.dq = addr(0x700000000), a.dk = addr(0x800000000), a.dv = addr(0x900000000);
  a.batch = 2, a.heads = 8, a.kvHeads = 2, a.qLen = 77, a.kLen = 4097, a.headDim = 128;
  a.setContiguousStrides();
  a.workspace = addr(0xa00000000);
  a.workspaceBytes = backwardWorkspaceBytes(a, backwardKernel());
  return a;
}

std::string backwardProblem(const BackwardArgs &a) {
  Status s = validateBackward(a, backwardKernel());
  return s ? "" : s.message;
}
} // namespace

TEST(SieveLaunch, AValidBackwardLaunchPasses) {
  EXPECT_EQ(backwardProblem(validBackward()), "");
  BackwardArgs a = validBackward();
  a.deterministic = true;
  EXPECT_EQ(backwardProblem(a), "");
}

TEST(SieveLaunch, BackwardWorkspaceHoldsLseDeltaAndDq) {
  BackwardArgs a = validBackward();
  // q_len 77 pads to 128 rows: lse2 and D of 2 x 8 x 128 floats, each
  // 256-byte aligned, then dq_accum of 2 x 8 x 128 x 128 floats.
  const size_t rows = 2 * 8 * 128;
  EXPECT_EQ(backwardWorkspaceBytes(a, backwardKernel()), 2 * rows * 4 + rows * 128 * 4);
  a.deterministic = true;
  EXPECT_EQ(backwardWorkspaceBytes(a, backwardKernel()), 2 * rows * 4);
}

TEST(SieveLaunch, EachBackwardProblemIsNamed) {
  struct Case {
    void (*edit)(BackwardArgs &);
    const char *message;
  };
  const Case cases[] = {
      {[](BackwardArgs &a) { a.dO = nullptr; }, "dO is null"},
      {[](BackwardArgs &a) { a.o = nullptr; }, "o (the forward's output) is null"},
      {[](BackwardArgs &a) { a.lse = nullptr; }, "lse (the forward's"},
      {[](BackwardArgs &a) { a.dq = nullptr; }, "dq is null"},
      {[](BackwardArgs &a) { a.dk = addr(0x800000008); }, "dk is not 16-byte aligned"},
      {[](BackwardArgs &a) { a.qLen = 5000; }, "query length 5000 exceeds key length 4097"},
      {[](BackwardArgs &a) { a.kvHeads = 3; }, "heads (8) must be a multiple of kv heads (3)"},
      {[](BackwardArgs &a) { a.headDim = 64; }, "compiled for head dim 128 but the launch has 64"},
      {[](BackwardArgs &a) { a.dtype = ElementType::FP16; }, "compiled for bf16 but the launch has fp16"},
      {[](BackwardArgs &a) { a.dvStride[2] = 64; }, "dv row stride 64 is smaller than the head dim"},
      {[](BackwardArgs &a) { a.dqStride[1] = 0; }, "dq strides make elements overlap"},
      {[](BackwardArgs &a) { a.dk = a.dv; }, "dk shares memory with dv"},
      {[](BackwardArgs &a) { a.dq = const_cast<void *>(a.dO); }, "dq shares memory with dO"},
      {[](BackwardArgs &a) { a.dv = const_cast<void *>(a.k); }, "dv shares memory with k"},
      {[](BackwardArgs &a) { a.workspace = nullptr; }, "the backward needs a workspace of"},
      {[](BackwardArgs &a) { a.workspace = addr(0xa00000004); }, "the workspace is not 16-byte aligned"},
      {[](BackwardArgs &a) { a.workspaceBytes -= 4; }, "the workspace has"},
      {[](BackwardArgs &a) { a.workspace = a.dq; }, "shares memory with the workspace"},
      {[](BackwardArgs &a) { a.scale = -1; }, "the softmax scale must be finite"},
  };
  for (const Case &c : cases) {
    BackwardArgs a = validBackward();
    c.edit(a);
    const std::string got = backwardProblem(a);
    EXPECT_NE(got.find(c.message), std::string::npos) << "got: '" << got << "', want: '" << c.message << "'";
  }
  // A forward kernel is not a backward kernel.
  Status s = validateBackward(validBackward(), KernelInfo());
  EXPECT_NE(s.message.find("this is not a backward kernel"), std::string::npos) << s.message;
}
