//===- SievePipeline.cuh - Producer/consumer rings of tiles -----*- CUDA -*-===//
//
// The protocol between a producer warp that runs the pattern's walk and
// loads K and V tiles (TMA), and the consumer warpgroups that use them:
// FlashAttention 3's full/empty barrier rings (../shared KERNELS.md, "Forward
// on Hopper", "Block sparsity in that structure"), with sieve's tag word:
//
//   - a ring of kStages slots; slot s has a `full` barrier (arrival count 1:
//     the producer's arrive.expect_tx, completed by the copy's complete_tx)
//     and an `empty` barrier (one arrival per consumer);
//   - the producer acquires a slot (waits for its empty barrier, parity of
//     the previous use), writes the tag word (tile index | full << 31) into
//     the slot, then arrives with the bytes it is about to copy; at the end
//     it publishes kEndTag with a plain arrive (no bytes);
//   - a consumer waits for the slot's full barrier (parity of this use),
//     reads the tag (arrive is a release, the wait an acquire: no other
//     barrier is needed), uses the tile and arrives on the slot's empty
//     barrier. A consumer that is a warp arriving through one lane reads
//     the tag in that lane and broadcasts it: another lane's read would not
//     be ordered before the arrival, and the producer's next tag write
//     would race it.
//
// The barrier operations come from a policy, Bar, so the same ring runs on
// the GPU (SieveMbarrier.cuh: PTX mbarrier) and on the host, where the tests
// drive it with a model of mbarrier semantics under random interleavings
// (test/unit/codegen/SievePipelineTest.cpp). Host-compilable (SIEVE_HD as in
// SieveWalkRules.h).
//
// Bar: a Handle type and static functions
//   init(Handle &, int count), arrive(Handle &), arrive_expect_tx(Handle &, u32 bytes),
//   try_wait(Handle &, u32 parity) -> bool (the phase of that parity has completed).
//
// Used by the warp-specialised forward (fwd/SieveFwdSm90Ws.cuh).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_COMMON_PIPELINE_CUH
#define SIEVE_KERNELS_COMMON_PIPELINE_CUH

#ifndef SIEVE_HD
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SIEVE_HD __device__ __forceinline__
#else
#define SIEVE_HD inline
#endif
#endif

namespace sieve::pipe {

typedef unsigned int u32;

/// The tag word of a slot: a tile index below 2^31 and its full/partial tag,
/// or kEndTag when the walk is done.
constexpr u32 kEndTag = 0x7fffffffu;
SIEVE_HD u32 make_tag(int tile, bool full) { return (u32)tile | (full ? 0x80000000u : 0u); }
SIEVE_HD bool is_end(u32 tag) { return tag == kEndTag; }
SIEVE_HD int tag_tile(u32 tag) { return (int)(tag & 0x7fffffffu); }
SIEVE_HD bool tag_full(u32 tag) { return (tag >> 31) != 0; }

/// Where an actor is in a ring: the slot and the parity of its current use.
/// The producer and each consumer keep their own; all advance once per tile.
template <int kStages>
struct RingPos {
  int slot = 0;
  u32 phase = 0;
  SIEVE_HD void advance() {
    if (++slot == kStages) {
      slot = 0;
      phase ^= 1u;
    }
  }
};

template <class Bar, int kStages, int kConsumers>
struct Ring {
  static_assert(kStages >= 1 && kConsumers >= 1, "a ring has slots and consumers");
  typename Bar::Handle full[kStages], empty[kStages];
  u32 tag[kStages];

  /// One thread, before any use (the device code then fences and syncs).
  SIEVE_HD void init() {
    for (int s = 0; s < kStages; ++s) {
      Bar::init(full[s], 1);
      Bar::init(empty[s], kConsumers);
    }
  }

  /// Producer: whether slot pos.slot is free (every consumer released its
  /// previous use; a fresh barrier's "previous phase" counts as done).
  SIEVE_HD bool try_acquire(const RingPos<kStages> &pos) {
    return Bar::try_wait(empty[pos.slot], pos.phase ^ 1u);
  }
  /// Producer, after acquiring: the slot's tag, then the arrival that the
  /// copy of `bytes` completes (the caller issues the copy right after). END
  /// arrives without bytes.
  SIEVE_HD void publish(const RingPos<kStages> &pos, u32 t, u32 bytes) {
    tag[pos.slot] = t;
    if (is_end(t))
      Bar::arrive(full[pos.slot]);
    else
      Bar::arrive_expect_tx(full[pos.slot], bytes);
  }
  /// Consumer: whether the slot's tile has landed; then its tag.
  SIEVE_HD bool try_wait(const RingPos<kStages> &pos, u32 &t) {
    if (!Bar::try_wait(full[pos.slot], pos.phase)) return false;
    t = tag[pos.slot];
    return true;
  }
  /// Consumer: done with the slot (one arrival per consumer).
  SIEVE_HD void release(const RingPos<kStages> &pos) { Bar::arrive(empty[pos.slot]); }
};

}  // namespace sieve::pipe

#endif  // SIEVE_KERNELS_COMMON_PIPELINE_CUH
