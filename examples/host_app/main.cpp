// A host application: compile PowerAttention with sieve's C++ API, then run
// it on the GPU when there is one (on other machines the launch reports why
// it cannot run, and the program says so).
#include <sieve/Sieve.h>

#include <cstdio>
#include <vector>

int main() {
  std::printf("sieve %s\n", sieve::version());
  sieve::KernelOptions options;
  options.arch = "sm_90"; // explicit: this machine may have no GPU to ask
  sieve::CompiledKernel compiled;
  sieve::Status s = sieve::compileAttention("builtin:power_attention", options, compiled);
  if (!s) {
    if (s.message.find("NVRTC not found") != std::string::npos) {
      std::printf("skipped: %s\n", s.message.c_str());
      return 0;
    }
    std::fprintf(stderr, "compile failed: %s\n", s.message.c_str());
    return 1;
  }
  std::printf("compiled %s for %s: %zu-byte cubin (%s)\n", compiled.patternName.c_str(),
              compiled.arch.c_str(), compiled.cubin.size(), compiled.from.c_str());

  // A bad spec is an error with a location, not a crash.
  sieve::CompiledKernel bad;
  s = sieve::compileAttention("{\"mask\": {\"window\": {\"blocks\": 0}}}", options, bad);
  if (s || s.message.find("/mask/window/blocks") == std::string::npos) {
    std::fprintf(stderr, "expected a located error, got: %s\n", s.message.c_str());
    return 1;
  }

  sieve::AttentionKernel kernel;
  s = sieve::AttentionKernel::load(compiled.cubin, kernel);
  if (!s) {
    std::printf("not launched: %s\n", s.message.c_str());
    return 0;
  }
  sieve::AttentionArgs args;
  args.heads = 2, args.kvHeads = 1, args.qLen = 300, args.kLen = 1000;
  args.setContiguousStrides();
  const size_t nq = size_t(args.heads) * args.qLen * 128, nkv = size_t(args.kLen) * 128;
  std::vector<unsigned short> host(nq > nkv ? nq : nkv, 0x3f80); // bf16 1.0
  void *q, *k, *v, *o;
  for (auto [ptr, n] : {std::pair{&q, nq}, {&k, nkv}, {&v, nkv}, {&o, nq}})
    if (!(s = sieve::deviceAlloc(n * 2, ptr)) || !(s = sieve::copyToDevice(*ptr, host.data(), n * 2))) {
      std::fprintf(stderr, "%s\n", s.message.c_str());
      return 1;
    }
  args.q = q, args.k = k, args.v = v, args.o = o;
  if (!(s = kernel.launch(args)) || !(s = sieve::deviceSynchronize()) ||
      !(s = sieve::copyToHost(host.data(), o, nq * 2))) {
    std::fprintf(stderr, "launch failed: %s\n", s.message.c_str());
    return 1;
  }
  // All values are 1, so every attended output element is exactly 1.
  for (size_t i = 0; i < nq; ++i)
    if (host[i] != 0x3f80) {
      std::fprintf(stderr, "element %zu is 0x%04x, expected 1.0\n", i, host[i]);
      return 1;
    }
  std::printf("launched on the GPU: %zu outputs checked\n", nq);
  return 0;
}
