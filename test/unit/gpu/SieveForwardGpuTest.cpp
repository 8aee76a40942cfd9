//===- SieveForwardGpuTest.cpp - Forward kernels against the CPU ------===//
//
// On a GPU: every forward kernel variant the device can run, on every
// built-in and on patterns that exercise the rest of the algebra
// (predicates, not, token units, asymmetric blocks, a key block of 192), at
// lengths that are not multiples of the tiles, with batch > 1, GQA and
// q_len < k_len. Inputs are random, outputs are NaN-poisoned, and every
// element is compared with the CPU executor (fp64, the reference mask): a
// wrong tile, tag or element mask shows. Skips without a GPU.
//
//===----------------------------------------------------------------------===//

#include "patterns/SieveBuiltins.h"
#include "reference/SieveCpuAttention.h"
#include "reference/SieveHalf.h"
#include "sieve/Sieve.h"
#include "../SieveTestUtils.h"
#include "patterns/SieveSpec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace sieve;

namespace {
struct Shape {
  int batch, heads, kvHeads, qLen, kLen;
};

/// Device buffers freed on scope exit.
struct DeviceBuffer {
  void *ptr = nullptr;
  ~DeviceBuffer() {
    if (ptr)
      deviceFree(ptr);
  }
};

struct Result {
  double relErr = 0, lseErr = 0;
  int64_t nan = 0;
  bool emptyRowsOk = true;
};

Result runOne(const CompiledKernel &compiled, const mask::Pattern &pattern, int headDim,
              ElementType dtype, const Shape &s, uint64_t seed, std::string &error) {
  Result res;
  AttentionKernel kernel;
  if (Status st = AttentionKernel::load(compiled.cubin, kernel); !st) {
    error = st.message;
    return res;
  }
  const bool bf16 = dtype == ElementType::BF16;
  auto toHalf = [&](float f) { return bf16 ? half::floatToBf16(f) : half::floatToFp16(f); };
  auto toFloat = [&](uint16_t h) { return bf16 ? half::bf16ToFloat(h) : half::fp16ToFloat(h); };
  const size_t nq = size_t(s.batch) * s.heads * s.qLen * headDim;
  const size_t nkv = size_t(s.batch) * s.kvHeads * s.kLen * headDim;
  const size_t nl = size_t(s.batch) * s.heads * s.qLen;
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<uint16_t> hq(nq), hk(nkv), hv(nkv), ho(nq, bf16 ? half::kBf16NaN : half::kFp16NaN);
  std::vector<float> qf(nq), kf(nkv), vf(nkv), lse(nl, NAN);
  for (auto [h, f, n] : {std::tuple{&hq, &qf, nq}, {&hk, &kf, nkv}, {&hv, &vf, nkv}})
    for (size_t i = 0; i < n; ++i) {
      (*h)[i] = toHalf(normal(rng));
      (*f)[i] = toFloat((*h)[i]);
    }
  DeviceBuffer dq, dk, dv, dout, dl;
  for (Status st : {deviceAlloc(nq * 2, &dq.ptr), deviceAlloc(nkv * 2, &dk.ptr),
                    deviceAlloc(nkv * 2, &dv.ptr), deviceAlloc(nq * 2, &dout.ptr),
                    deviceAlloc(nl * 4, &dl.ptr), copyToDevice(dq.ptr, hq.data(), nq * 2),
                    copyToDevice(dk.ptr, hk.data(), nkv * 2), copyToDevice(dv.ptr, hv.data(), nkv * 2),
                    copyToDevice(dout.ptr, ho.data(), nq * 2), copyToDevice(dl.ptr, lse.data(), nl * 4)})
    if (!st) {
      error = st.message;
      return res;
    }
  AttentionArgs a;
  a.q = dq.ptr, a.k = dk.ptr, a.v = dv.ptr, a.o = dout.ptr, a.lse = static_cast<float *>(dl.ptr);
  a.batch = s.batch, a.heads = s.heads, a.kvHeads = s.kvHeads, a.qLen = s.qLen, a.kLen = s.kLen;
  a.headDim = headDim, a.dtype = dtype;
  a.setContiguousStrides();
  for (Status st : {kernel.launch(a), deviceSynchronize(), copyToHost(ho.data(), dout.ptr, nq * 2),
                    copyToHost(lse.data(), dl.ptr, nl * 4)})
    if (!st) {
      error = st.message;
      return res;
    }
  reference::Problem p{s.batch, s.heads, s.kvHeads, s.qLen, s.kLen, headDim, 0};
  std::vector<float> ro, rl;
  reference::forward(pattern, p, qf, kf, vf, ro, rl);
  double errSq = 0, refSq = 0;
  for (size_t i = 0; i < nq; ++i) {
    const double got = toFloat(ho[i]);
    res.nan += std::isnan(got);
    errSq += (got - ro[i]) * (got - ro[i]);
    refSq += double(ro[i]) * ro[i];
  }
  for (size_t r = 0; r < nl; ++r) {
    res.nan += std::isnan(lse[r]);
    if (std::isinf(rl[r])) { // a row that attends nothing: o = 0, lse = -inf
      res.emptyRowsOk &= std::isinf(lse[r]) && lse[r] < 0;
      for (int e = 0; e < headDim; ++e)
        res.emptyRowsOk &= toFloat(ho[r * headDim + e]) == 0.f;
    } else {
      res.lseErr = std::max(res.lseErr, std::abs(double(lse[r]) - rl[r]));
    }
  }
  res.relErr = refSq > 0 ? std::sqrt(errSq / refSq) : std::sqrt(errSq);
  return res;
}

/// The specs: every built-in, and the rest of the algebra.
std::vector<std::string> specs() {
  std::vector<std::string> out;
  for (const Builtin &b : builtins())
    out.push_back("builtin:" + b.name);
  out.push_back(R"({"block_size": 192, "mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 1}}, {"window": {"blocks": 3}}, {"power_of_two": {}}]}]}})");
  out.push_back(R"({"block_size": 128, "mask": {"intersect": ["causal", {"not": {"predicate": "(q + k) % 3 == 0"}}, {"union": [{"window": {"tokens": 700}}, {"global": {"tokens": 200}}]}]}})");
  out.push_back(R"({"block_size": [64, 128], "mask": {"intersect": [{"causal": {"offset": 5}}, {"union": [{"stride": {"blocks": 3}}, {"band": {"min": 0, "max": 300, "unit": "token"}}]}]}})");
  out.push_back(R"({"block_size": 256, "mask": {"intersect": ["causal", {"window": {"blocks": 2}}, {"not": {"sink": {"tokens": 100}}}]}})");
  return out;
}
} // namespace

TEST(SieveForwardGpu, EveryVariantMatchesTheCpu) {
  DeviceInfo device;
  if (Status s = currentDevice(device); !s)
    GTEST_SKIP() << "no GPU: " << s.message;
  const Shape shapes[] = {{2, 4, 2, 1000, 1000}, {1, 2, 1, 1537, 4097}, {2, 8, 2, 77, 3001},
                          {1, 4, 4, 1, 4097}};
  int checked = 0, failed = 0;
  for (const std::string &spec : specs())
    for (const KernelVariantInfo &variant : kernelVariants())
      for (int hd : {128, 64})
        if (variant.operation == "forward") // decode: bench/gpu/check_decode.sh
        for (ElementType dt : {ElementType::BF16, ElementType::FP16}) {
          if (dt == ElementType::FP16 && hd == 128 && spec.rfind("builtin:", 0) != 0)
            continue; // fp16 at hd128 on the built-ins is enough
          KernelOptions o;
          o.headDim = hd, o.dtype = dt, o.kernel = variant.name;
          CompiledKernel compiled;
          Status s = compileAttention(spec, o, compiled);
          if (!s && s.message.find("does not apply") != std::string::npos)
            continue;
          ASSERT_TRUE(s) << spec << ": " << s.message;
          mlir::MLIRContext ctx;
          LoadedSpec loaded;
          std::string message;
          ASSERT_TRUE(loadSpec(spec, "", &ctx, loaded, message)) << message;
          mask::Pattern pattern = *buildMaskPattern(loaded.pattern);
          for (const Shape &shape : shapes) {
            std::string error;
            Result r = runOne(compiled, pattern, hd, dt, shape, 1000 + checked, error);
            ASSERT_EQ(error, "") << spec;
            const double tol = dt == ElementType::BF16 ? 1e-2 : 5e-3;
            const bool ok = r.nan == 0 && r.relErr <= tol && r.lseErr <= 0.05 && r.emptyRowsOk;
            std::printf("%s %-16s hd%d %s b%d h%d/%d q%d k%d: rel %.2e lse %.1e nan %lld %s\n",
                        ok ? "ok  " : "FAIL", variant.name.c_str(), hd, elementTypeName(dt),
                        shape.batch, shape.heads, shape.kvHeads, shape.qLen, shape.kLen, r.relErr,
                        r.lseErr, (long long)r.nan, spec.substr(0, 60).c_str());
            EXPECT_TRUE(ok) << spec;
            ++checked;
            failed += !ok;
          }
        }
  std::printf("%d/%d forward checks passed on %s\n", checked - failed, checked, device.name.c_str());
}
