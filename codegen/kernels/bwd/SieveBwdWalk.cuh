//===- SieveBwdWalk.cuh - The backward's stream of query tiles --*- CUDA -*-===//
//
// The main entry of every backward kernel owns one key tile of one KV head
// and visits, for each query head of a range of that KV head's group (all of
// it, or one CTA's share under the GQA head split), the query tiles that
// attend the key tile: the compiler's transposed walk, restarted per head,
// with its exact full/partial tags. BwdTileStream yields that sequence of
// (head, query tile, tag).
//
// The walk's state waits in shared memory between tiles, one copy per warp
// written by its lane 0: in registers it would hold ~20 of them across the
// whole step, and the hd128 kernels have none to spare. Every warp of a CTA
// walks the same stream and so gets the same tiles without a barrier.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_BWD_WALK_CUH
#define SIEVE_KERNELS_BWD_WALK_CUH

namespace sieve::dev {

template <class Pattern, int kTileQ, int kTileK> class BwdTileStream {
public:
  using Rules = typename Pattern::template Rules<true>;
  using Walk = walk::TileWalk<Rules>;

  /// The query tiles of kTileQ rows attending keys [k0, k0 + kTileK) (cut at
  /// p.k_len), queries end-aligned (query i at q_off + i), for query heads
  /// [first_head, end_head) of KV head `kv_head`'s group of `group`. `saved`
  /// is this warp's slot: shared memory of sizeof(Walk) bytes, 8-byte
  /// aligned. Every lane of the warp constructs the stream.
  ///
  /// The hd128 kernels sit at 255 registers, so the stream holds nothing the
  /// kernel does not hold already (its key tile, q_off, KV head, group size,
  /// lane) besides the head it is on; the rest is recomputed when a head's
  /// walk restarts.
  __device__ __forceinline__ BwdTileStream(const sieve_bwd_params &p, Walk *saved, int k0,
                                           long long q_off, int kv_head, int group,
                                           int first_head, int end_head, int lane)
      : p_(p), saved_(saved), k0_(k0), q_off_(q_off), kv_head_(kv_head), group_(group),
        head_(first_head), end_head_(end_head), lane_(lane) {
    if (lane_ == 0) *saved_ = restart();
    __syncwarp();
  }

  /// The next (head, query tile index, full tag); false once every head's
  /// walk has ended. Every lane of the warp calls it.
  __device__ __forceinline__ bool next(int &head, int &tile, bool &full) {
    Walk tiles = *saved_;
    bool got = false;
    while (!got && head_ < end_head_) {
      got = tiles.next(tile, full);
      if (got) head = kv_head_ * group_ + head_;
      else if (++head_ < end_head_) tiles = restart();
    }
    __syncwarp();
    if (lane_ == 0) *saved_ = tiles;
    __syncwarp();
    return got;
  }

private:
  /// The walk of one head from its first query tile.
  __device__ __forceinline__ Walk restart() const {
    const long long klast = (k0_ + kTileK < p_.k_len ? k0_ + kTileK : p_.k_len) - 1;
    return Walk(Rules(walk::Rows::make(k0_, klast, Pattern::kBlockK, Pattern::kBlockQ, p_.k_len)),
                q_off_, kTileQ, p_.k_len);
  }

  const sieve_bwd_params &p_;
  Walk *saved_;
  int k0_;
  long long q_off_;
  int kv_head_, group_, head_, end_head_, lane_;
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_BWD_WALK_CUH
