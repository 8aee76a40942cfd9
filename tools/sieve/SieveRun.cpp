//===- SieveRun.cpp - `sieve run`: launch a pattern's kernel on the GPU -===//
//
// Compiles the pattern's forward kernel for the device (through the cache),
// fills q, k and v from files or random numbers, poisons the outputs, runs,
// and optionally checks rows against an fp64 reference on the CPU (the mask
// from the reference evaluator) and times repeated launches.
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveCommands.h"
#include "dialect/SieveMaskFromIR.h"
#include "passes/SieveTileClassifier.h"
#include "patterns/SieveSpec.h"
#include "sieve/Attention.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <random>

using namespace sieve;

namespace {
using u16 = uint16_t;

u16 floatToBf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  if (std::isnan(f))
    return 0x7fc0;
  return u16((b + 0x7fff + ((b >> 16) & 1)) >> 16); // round to nearest even
}
float bf16ToFloat(u16 h) {
  uint32_t b = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}
u16 floatToFp16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  uint32_t sign = (b >> 16) & 0x8000, exp = (b >> 23) & 0xff, man = b & 0x7fffff;
  if (exp == 0xff)
    return u16(sign | 0x7c00 | (man ? 0x200 : 0));
  int e = int(exp) - 127 + 15;
  if (e >= 31)
    return u16(sign | 0x7c00);
  if (e <= 0) { // subnormal or zero
    if (e < -10)
      return u16(sign);
    man |= 0x800000;
    uint32_t shift = uint32_t(14 - e), half = man >> shift, rest = man & ((1u << shift) - 1);
    uint32_t mid = 1u << (shift - 1);
    half += rest > mid || (rest == mid && (half & 1));
    return u16(sign | half);
  }
  uint32_t half = (uint32_t(e) << 10) | (man >> 13), rest = man & 0x1fff;
  half += rest > 0x1000 || (rest == 0x1000 && (half & 1));
  return u16(sign | half);
}
float fp16ToFloat(u16 h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float f;
  if (exp == 0)
    f = std::ldexp(float(man), -24);
  else if (exp == 31)
    f = man ? NAN : INFINITY;
  else
    f = std::ldexp(float(man | 0x400), int(exp) - 25);
  return sign ? -f : f;
}

struct Tensor {
  std::vector<u16> host;
  void *device = nullptr;
};

Status fill(Tensor &t, size_t n, const std::string &file, bool bf16, std::mt19937_64 &rng,
            const char *name) {
  t.host.resize(n);
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary | std::ios::ate);
    if (!in)
      return Status::error(std::string("cannot read --") + name + " file '" + file + "'");
    size_t bytes = size_t(in.tellg());
    if (bytes != n * 2)
      return Status::error(std::string("--") + name + " file '" + file + "' has " +
                           std::to_string(bytes) + " bytes; expected " + std::to_string(n * 2) +
                           " ([batch, heads, length, head_dim] of 16-bit elements)");
    in.seekg(0);
    in.read(reinterpret_cast<char *>(t.host.data()), std::streamsize(bytes));
  } else {
    std::normal_distribution<float> normal;
    for (u16 &x : t.host)
      x = bf16 ? floatToBf16(normal(rng)) : floatToFp16(normal(rng));
  }
  if (Status s = deviceAlloc(n * 2, &t.device); !s)
    return s;
  return copyToDevice(t.device, t.host.data(), n * 2);
}
} // namespace

int cli::runRun(const RunOptions &o) {
  mlir::MLIRContext context;
  LoadedSpec spec;
  mask::Pattern m;
  if (!loadPattern(o.spec, o.pattern, context, spec, m))
    return 1;
  const int64_t kLen = o.seqLen, qLen = o.qLen ? o.qLen : o.seqLen;
  if (qLen > kLen)
    return error("--q-len " + std::to_string(qLen) + " exceeds --seq-len " +
                 std::to_string(kLen) + " (queries are aligned to the end of the keys)");
  if (o.heads % o.kvHeads != 0)
    return error("--heads (" + std::to_string(o.heads) + ") must be a multiple of --kv-heads (" +
                 std::to_string(o.kvHeads) + ")");
  DeviceInfo device;
  if (Status s = queryDevice(0, device); !s)
    return error("sieve run needs a GPU: " + s.message);

  CompileOptions c;
  c.headDim = o.headDim;
  c.dtype = o.dtype;
  c.arch = o.arch.empty() ? device.arch() : o.arch;
  c.emit = "cubin";
  c.nvrtcOptions = o.nvrtcOptions;
  std::vector<char> cubin;
  std::string from;
  if (Status s = compileKernel(spec.pattern, m, c, cubin, &from); !s)
    return error(s.message);
  AttentionKernel kernel;
  if (Status s = AttentionKernel::load(cubin, kernel); !s)
    return error(s.message);

  const bool bf16 = o.dtype == "bf16";
  AttentionArgs args;
  args.batch = o.batch, args.heads = o.heads, args.kvHeads = o.kvHeads;
  args.qLen = int(qLen), args.kLen = int(kLen), args.headDim = o.headDim;
  args.dtype = bf16 ? ElementType::BF16 : ElementType::FP16;
  args.setContiguousStrides();
  const size_t nq = size_t(o.batch) * o.heads * qLen * o.headDim;
  const size_t nkv = size_t(o.batch) * o.kvHeads * kLen * o.headDim;
  std::mt19937_64 rng(o.seed);
  Tensor q, k, v, out;
  for (Status s : {fill(q, nq, o.qFile, bf16, rng, "q"), fill(k, nkv, o.kFile, bf16, rng, "k"),
                   fill(v, nkv, o.vFile, bf16, rng, "v")})
    if (!s)
      return error(s.message);
  // Poison the outputs: anything the kernel does not write stays NaN.
  out.host.assign(nq, bf16 ? 0x7fc0 : 0x7e00);
  std::vector<float> lse(size_t(o.batch) * o.heads * qLen, NAN);
  void *lseDevice = nullptr;
  for (Status s : {deviceAlloc(nq * 2, &out.device), copyToDevice(out.device, out.host.data(), nq * 2),
                   deviceAlloc(lse.size() * 4, &lseDevice),
                   copyToDevice(lseDevice, lse.data(), lse.size() * 4)})
    if (!s)
      return error(s.message);
  args.q = q.device, args.k = k.device, args.v = v.device, args.o = out.device;
  args.lse = static_cast<float *>(lseDevice);

  for (Status s : {kernel.launch(args), deviceSynchronize(),
                   copyToHost(out.host.data(), out.device, nq * 2),
                   copyToHost(lse.data(), lseDevice, lse.size() * 4)})
    if (!s)
      return error(s.message);
  auto toFloat = [&](u16 x) { return bf16 ? bf16ToFloat(x) : fp16ToFloat(x); };
  int64_t nan = 0;
  for (u16 x : out.host)
    nan += std::isnan(toFloat(x));
  for (float x : lse)
    nan += std::isnan(x);

  nlohmann::ordered_json report = {
      {"pattern", m.name}, {"device", device.name}, {"arch", c.arch},
      {"kernel_from", from},      {"batch", o.batch},      {"heads", o.heads},
      {"kv_heads", o.kvHeads},    {"q_len", qLen},         {"k_len", kLen},
      {"head_dim", o.headDim},    {"dtype", o.dtype},      {"nan_or_unwritten", nan}};
  plan::TileClassifier tiles(m);
  const int64_t pairs = tiles.count(kLen - qLen, kLen - 1, 0, kLen - 1);
  report["attended_pairs"] = pairs;

  if (o.check) {
    // fp64 reference for sampled rows (every row when there are few).
    mask::Evaluator eval(m);
    const int64_t rows = int64_t(o.batch) * o.heads * qLen;
    const int64_t samples = std::min<int64_t>(rows, 256);
    double errSq = 0, refSq = 0, lseErr = 0;
    const double scale = 1.0 / std::sqrt(double(o.headDim));
    const int group = o.heads / o.kvHeads;
    for (int64_t s = 0; s < samples; ++s) {
      int64_t r = samples == rows ? s : int64_t(rng() % uint64_t(rows));
      int64_t i = r % qLen, h = (r / qLen) % o.heads, b = r / (qLen * o.heads);
      const u16 *qr = &q.host[size_t(r) * o.headDim];
      size_t kvBase = (size_t(b) * o.kvHeads + h / group) * kLen;
      std::vector<double> logits;
      std::vector<int64_t> keys;
      for (int64_t key = 0; key < kLen; ++key) {
        if (!eval(kLen - qLen + i, key))
          continue;
        double dot = 0;
        const u16 *kr = &k.host[(kvBase + key) * o.headDim];
        for (int d = 0; d < o.headDim; ++d)
          dot += double(toFloat(qr[d])) * toFloat(kr[d]);
        logits.push_back(dot * scale);
        keys.push_back(key);
      }
      double m = -INFINITY, sum = 0;
      for (double l : logits)
        m = std::max(m, l);
      for (double l : logits)
        sum += std::exp(l - m);
      double refLse = logits.empty() ? -INFINITY : m + std::log(sum);
      float gotLse = lse[size_t(r)];
      if (std::isinf(refLse))
        lseErr = std::max(lseErr, std::isinf(gotLse) && gotLse < 0 ? 0.0 : INFINITY);
      else
        lseErr = std::max(lseErr, std::abs(double(gotLse) - refLse));
      for (int d = 0; d < o.headDim; ++d) {
        double ref = 0;
        for (size_t j = 0; j < keys.size(); ++j)
          ref += std::exp(logits[j] - refLse) *
                 toFloat(v.host[(kvBase + keys[j]) * o.headDim + d]);
        double got = toFloat(out.host[size_t(r) * o.headDim + d]);
        errSq += (got - ref) * (got - ref);
        refSq += ref * ref;
      }
    }
    double rel = refSq > 0 ? std::sqrt(errSq / refSq) : std::sqrt(errSq);
    report["checked_rows"] = samples;
    report["rel_err"] = rel;
    report["lse_max_abs_err"] = lseErr;
    report["check_passed"] = nan == 0 && rel <= (bf16 ? 1e-2 : 5e-3) && lseErr <= 5e-2;
  }
  if (o.repeat > 0) {
    std::vector<float> times;
    for (int r = 0; r < o.repeat + 3; ++r) {
      float ms = 0;
      if (Status s = timeOnDevice([&] { return kernel.launch(args); }, ms); !s)
        return error(s.message);
      if (r >= 3) // three warm-up launches
        times.push_back(ms);
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    report["median_ms"] = median;
    report["tflops"] = 4.0 * o.batch * o.heads * o.headDim * double(pairs) / (median * 1e-3) / 1e12;
  }
  if (!o.outFile.empty()) {
    std::ofstream f(o.outFile, std::ios::binary);
    f.write(reinterpret_cast<const char *>(out.host.data()), std::streamsize(nq * 2));
    if (!f)
      return error("cannot write '" + o.outFile + "'");
  }
  for (void *p : {q.device, k.device, v.device, out.device, lseDevice})
    deviceFree(p);
  if (o.json) {
    llvm::outs() << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
                 << "\n";
  } else {
    for (auto it = report.begin(); it != report.end(); ++it)
      llvm::outs() << "  " << it.key() << ": " << it.value().dump() << "\n";
  }
  bool failed = nan != 0 || (o.check && !report["check_passed"].get<bool>());
  if (failed)
    llvm::errs() << "sieve: error: the kernel's output "
                 << (nan ? "has NaN or unwritten elements" : "does not match the reference")
                 << "\n";
  return failed ? 1 : 0;
}
