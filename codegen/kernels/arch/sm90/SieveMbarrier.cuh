//===- SieveMbarrier.cuh - mbarrier as a SievePipeline.cuh policy -*- CUDA -*-===//
//
// The barrier policy of pipe::Ring on sm_90: 64-bit mbarrier objects in
// shared memory, through inline PTX (no CUDA header). A Handle is the
// barrier itself (it lives in the ring, which lives in shared memory).
//
// Debugging a deadlock: compile with -DSIEVE_MBARRIER_TRAP_SPINS=N (an NVRTC
// option, e.g. `--nvrtc-option=-DSIEVE_MBARRIER_TRAP_SPINS=100000000`) and
// every blocking wait traps after N failed tries, so a hung protocol ends
// the launch with an error in seconds instead of holding the GPU.
//
// Not yet used by a kernel (see SievePipeline.cuh); NVRTC-compiled for
// sm_90a by the tests, not run on a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_ARCH_SM90_MBARRIER_CUH
#define SIEVE_KERNELS_ARCH_SM90_MBARRIER_CUH

namespace sieve::dev::sm90 {

struct Mbarrier {
  struct __align__(8) Handle {
    unsigned long long word;
  };
  static __device__ __forceinline__ unsigned addr(Handle &b) {
    unsigned r;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(&b));
    return r;
  }
  static __device__ __forceinline__ void init(Handle &b, int count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(addr(b)), "r"(count) : "memory");
  }
  /// After every init, before other threads use the barriers (then sync).
  static __device__ __forceinline__ void fence_init() {
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
  }
  static __device__ __forceinline__ void arrive(Handle &b) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(addr(b)) : "memory");
  }
  static __device__ __forceinline__ void arrive_expect_tx(Handle &b, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(addr(b)),
                 "r"(bytes)
                 : "memory");
  }
  static __device__ __forceinline__ bool try_wait(Handle &b, unsigned parity) {
    unsigned done;
    asm volatile(
        "{\n .reg .pred p;\n mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
        " selp.u32 %0, 1, 0, p;\n}\n"
        : "=r"(done)
        : "r"(addr(b)), "r"(parity)
        : "memory");
    return done != 0;
  }
  /// Blocks until the phase of `parity` has completed.
  static __device__ __forceinline__ void wait(Handle &b, unsigned parity) {
#ifdef SIEVE_MBARRIER_TRAP_SPINS
    for (long long n = 0; !try_wait(b, parity); ++n)
      if (n >= (long long)(SIEVE_MBARRIER_TRAP_SPINS)) asm volatile("trap;\n");
#else
    while (!try_wait(b, parity)) {
    }
#endif
  }
};

}  // namespace sieve::dev::sm90

#endif  // SIEVE_KERNELS_ARCH_SM90_MBARRIER_CUH
