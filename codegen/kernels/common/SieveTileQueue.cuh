//===- SieveTileQueue.cuh - Walked tiles waiting for the math --*- CUDA -*-===//
//
// A kernel walks ahead of its math by the depth of its copy pipeline: tiles
// handed to the loader but not yet computed wait here, in walk order, in
// registers (every index is a compile-time constant). A slot holding tile
// -1 means the walk had ended.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_COMMON_TILEQUEUE_CUH
#define SIEVE_KERNELS_COMMON_TILEQUEUE_CUH

namespace sieve::dev {

template <int N>
struct TileQueue {
  static_assert(N >= 1, "a tile queue holds at least one tile");
  int tile[N];
  bool full[N];

  __device__ __forceinline__ void set(int slot, int t, bool f) {
    tile[slot] = t;
    full[slot] = f;
  }
  /// Appends a tile behind the others, dropping the oldest: with front()
  /// this keeps the queue a shift register, so a kernel whose prologue and
  /// steady state push from one place has one copy of its walk.
  __device__ __forceinline__ void push(int t, bool f) {
#pragma unroll
    for (int i = 0; i + 1 < N; ++i) {
      tile[i] = tile[i + 1];
      full[i] = full[i + 1];
    }
    tile[N - 1] = t;
    full[N - 1] = f;
  }
  /// The oldest tile, left in place (the next push drops it).
  __device__ __forceinline__ void front(int &t, bool &f) const {
    t = tile[0];
    f = full[0];
  }
  /// The oldest tile; the others move up one slot.
  __device__ __forceinline__ void pop(int &t, bool &f) {
    t = tile[0];
    f = full[0];
#pragma unroll
    for (int i = 0; i + 1 < N; ++i) {
      tile[i] = tile[i + 1];
      full[i] = full[i + 1];
    }
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_COMMON_TILEQUEUE_CUH
