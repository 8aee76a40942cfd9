//===- SieveFwdSm90Ws.cuh - Warp-specialised forward, TMA + wgmma -*- CUDA -*-===//
//
// The first warp-specialised Hopper forward (sm_90a): FlashAttention 3's
// split of a CTA into a producer warpgroup that only moves data and consumer
// warpgroups that only compute, with sieve's closed-form walk in the
// producer.
//
//   - Warpgroup 0 (the producer) gives up registers (setmaxnreg.dec to 56:
//     the walk's 64-bit state spills at 48);
//     one thread of it loads Q with TMA, then runs the pattern's walk and,
//     per attended tile, loads K and then V with TMA into two rings of
//     kStages slots (common/SievePipeline.cuh over arch/sm90/SieveMbarrier.cuh),
//     each slot carrying the tile's tag word (index and full/partial). END
//     closes both rings. Consumers never walk.
//   - Warpgroups 1 and 2 (the consumers, setmaxnreg.inc to 224) own 64 query
//     rows each: wait for K, S = Q K^T (wgmma, both from shared memory),
//     release K, the element mask for partial tiles, the online softmax
//     (SieveSoftmax.cuh), wait for V, O += P V (P from registers), release
//     V. Every warp releases a slot once its own wgmma reads are done (8
//     arrivals per slot); lane 0, the releasing lane, reads the tag.
//   - Tiles land in the layout the verified wgmma kernel's descriptors read:
//     TMA boxes of [rows][64] with the 128-byte swizzle, one per column block
//     (arch/sm90/SieveSwizzle.h, whose host tests show the two agree).
//   - The wgmma issue and the epilogue are FwdSm90's (qk_issue, pv_issue,
//     store_group): normalise, LSE, O staged through the warpgroup's own Q
//     rows, 16-byte stores.
//
// Status: verified on an H200 (docs/performance.md, 2026-12-02, fourth
// run): 8 checks against the CPU reference (causal, power_attention,
// sliding_window, longformer, full and a JSON spec; GQA, q_len < k_len,
// hd64, fp16, batch 2, 64- and 128-key tiles; not yet dilated, longnet,
// stride_slash),
// compute-sanitizer racecheck and synccheck clean; 504 TFLOP/s at 32K and
// 479 at 128K (PowerAttention, 32/32 heads), 1.47x / 1.35x fwd-sm90-wgmma and
// 1.32x / 1.23x FlexAttention in the same call. The default forward on
// sm_90a.
//
// The consumers' order is measured, not assumed: FlashAttention 3's
// (consume_fa3: S(j) and P(j - 1) V(j - 1) in flight together, softmax under
// P V; -DSIEVE_WS_FA3_ORDER) is slower, 399 TFLOP/s at 32K, and 374 with
// its ping-pong turns (-DSIEVE_WS_PINGPONG); it passed its checks when it
// was the default under other macro names. Not yet built:
// the persistent grid with longest-first tile order and a TMA store of O.
//
// Cfg (generated): Elem, kHeadDim (64 | 128), kTileQ = 128 (two consumer
// warpgroups), kTileK (64 | 128, dividing the key block), kWarps = 12,
// kStages (ring depth, 2). Kv: DenseKv (TMA addresses [batch, kv_heads,
// rows, head_dim] through the tensor maps). Launch: sieve_kernel_abi.h
// (forward, tensor_maps = 3: the runtime encodes q, k and v).
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_FWD_SM90_WS_CUH
#define SIEVE_KERNELS_FWD_SM90_WS_CUH

namespace sieve::dev {

/// FwdSm90 with this kernel's tiles, for its wgmma issue helpers and
/// epilogue (the warp and stage counts only satisfy FwdSm90's checks).
template <class Cfg> struct FwdSm90WsMathCfg : Cfg {
  static constexpr int kWarps = 8, kStages = 3;
};

template <class Cfg, class Pattern, class Kv>
struct FwdSm90Ws {
  using Math = FwdSm90<FwdSm90WsMathCfg<Cfg>, Pattern, Kv>;
  using Elem = typename Cfg::Elem;
  using Bar = sm90::Mbarrier;
  static constexpr int kD = Cfg::kHeadDim;
  static constexpr int kTQ = Cfg::kTileQ;
  static constexpr int kTK = Cfg::kTileK;
#ifdef SIEVE_WS_STAGES  // a tuning experiment: --nvrtc-option=-DSIEVE_WS_STAGES=N
  static constexpr int kStages = SIEVE_WS_STAGES;
#else
  static constexpr int kStages = Cfg::kStages;
#endif
  static constexpr int kWarps = Cfg::kWarps;
  static constexpr int kThreads = kWarps * 32;
  static constexpr int kMinBlocks = 1;
  static constexpr int kChunks = kD / 8;
  static constexpr int kBoxes = kD / 64;  // TMA boxes (128-byte column blocks) per tile
  static constexpr int kQBytes = kTQ * kD * 2;
  static constexpr int kKVBytes = kTK * kD * 2;
  static constexpr int kConsumerWarps = 8;  // release arrivals per slot
  using KRing = pipe::Ring<Bar, kStages, kConsumerWarps>;
  struct Control {
    KRing k, v;
    Bar::Handle q_full;
  };
  // Q, the K and V rings, their barriers, and 1 KiB to align the base to a
  // swizzle atom.
  static constexpr int kControlBytes = ((int)sizeof(Control) + 127) / 128 * 128;
  static constexpr int kSmemBytes = kQBytes + 2 * kStages * kKVBytes + kControlBytes + 1024;
  static constexpr int kTensorMaps = 3;  // q, k, v
  static constexpr int kProducerRegs = 56, kConsumerRegs = 224;

  static_assert(kD == 64 || kD == 128, "head dim must be 64 or 128");
  static_assert(kWarps == 12 && kTQ == 128, "one producer and two 64-row consumer warpgroups");
  static_assert(kTK == 64 || kTK == 128, "the key tile must be 64 or 128");
  static_assert(kStages >= 2, "a ring needs two slots to overlap loads with math");
  static_assert(Kv::kAbi == SIEVE_ABI_KV_DENSE, "TMA addresses dense K and V");
  // The split must hand over exactly what the block starts with: 384
  // threads under __launch_bounds__(384, 1) start at 168 registers (65536 /
  // 384, rounded down to a multiple of 8), and a consumer's setmaxnreg.inc
  // waits until the producer's .dec has freed enough, forever if it never
  // does. (So no -maxrregcount for this kernel; the compile test checks 168.)
  static constexpr int kEntryRegs = 65536 / kThreads / 8 * 8;
  static_assert(kProducerRegs * 128 + kConsumerRegs * 256 == kEntryRegs * kThreads,
                "the register split hands over exactly the block's registers");

  static constexpr sieve_launch_info launch_info() {
    return {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_FORWARD, Kv::kAbi, Elem::kAbi, kD, kTQ, kTK,
            kThreads, kSmemBytes, 0, 0, kTensorMaps};
  }

  using Slice = typename Math::Slice;
  using Acc = typename Math::Acc;
  using PFrag = typename Math::PFrag;

  /// Loads a [rows][kD] tile as kBoxes TMA boxes (coordinates: column, row,
  /// head, batch), each into its 128-byte column block.
  template <int kRows>
  static __device__ __forceinline__ void load_boxes(u32 dst, const sm90::TmaDesc &map, u32 bar,
                                                    int row, int head, int b) {
#pragma unroll
    for (int j = 0; j < kBoxes; ++j)
      sm90::tma_load_4d(dst + j * kRows * 128, map, bar, 64 * j, row, head, b);
  }

  /// Producer: waits until the ring's slot is free (trapping after N spins
  /// under -DSIEVE_MBARRIER_TRAP_SPINS=N, as the consumers' waits do).
  static __device__ __forceinline__ void acquire(KRing &ring, const pipe::RingPos<kStages> &pos) {
#ifdef SIEVE_MBARRIER_TRAP_SPINS
    for (long long n = 0; !ring.try_acquire(pos); ++n)
      if (n >= (long long)(SIEVE_MBARRIER_TRAP_SPINS)) asm volatile("trap;\n");
#else
    while (!ring.try_acquire(pos)) {
    }
#endif
  }

  /// A consumer warp's read of a landed slot's tag: lane 0 reads it and
  /// broadcasts it. Lane 0 is also the lane whose arrival releases the slot
  /// for the warp, so no other lane's read can race the producer's next
  /// write of the tag (when every lane read it, compute-sanitizer's
  /// racecheck reported exactly that WAR hazard on the H200).
  static __device__ __forceinline__ u32 read_tag(KRing &ring, const pipe::RingPos<kStages> &pos,
                                                 int lane) {
    u32 tag = 0;
    if (lane == 0) ring.try_wait(pos, tag);  // the wait completed: reads the tag
    return __shfl_sync(0xffffffffu, tag, 0);
  }

  /// The producer: Q, then every tile of the walk into both rings, then END.
  static __device__ __forceinline__ void produce(const sieve_fwd_params &p, const sm90::TmaDesc &tq,
                                                 const sm90::TmaDesc &tk, const sm90::TmaDesc &tv,
                                                 Control &ctl, u32 s_q, u32 s_k, u32 s_v, int q0,
                                                 int h, int kvh, int b, long long qpos_begin,
                                                 long long qpos_last) {
    sm90::tma_prefetch(tq);
    sm90::tma_prefetch(tk);
    sm90::tma_prefetch(tv);
    Bar::arrive_expect_tx(ctl.q_full, kQBytes);
    load_boxes<kTQ>(s_q, tq, Bar::addr(ctl.q_full), q0, h, b);

    using Rules = typename Pattern::template Rules<false>;
    walk::TileWalk<Rules> tiles(
        Rules(walk::Rows::make(qpos_begin, qpos_last, Pattern::kBlockQ, Pattern::kBlockK, p.k_len)),
        0, kTK, p.k_len);
    pipe::RingPos<kStages> kp, vp;
    int t;
    bool full;
    for (;;) {
      const bool more = tiles.next(t, full);
      const u32 tag = more ? pipe::make_tag(t, full) : pipe::kEndTag;
      acquire(ctl.k, kp);
      ctl.k.publish(kp, tag, kKVBytes);
      if (more)
        load_boxes<kTK>(s_k + kp.slot * kKVBytes, tk, Bar::addr(ctl.k.full[kp.slot]), t * kTK, kvh, b);
      kp.advance();
      acquire(ctl.v, vp);
      ctl.v.publish(vp, tag, kKVBytes);
      if (more)
        load_boxes<kTK>(s_v + vp.slot * kKVBytes, tv, Bar::addr(ctl.v.full[vp.slot]), t * kTK, kvh, b);
      vp.advance();
      if (!more) break;
    }
  }

  /// Where a consumer thread sits: its lane, its row h = 0 in the tile and
  /// that row's absolute position, its warpgroup's rows of every column
  /// block of Q.
  struct Seat {
    int lane, trow;
    long long qrow;
    u32 s_qg;
  };
  static __device__ __forceinline__ Seat seat(u32 s_q, int cg, long long qpos_begin) {
    const int lane = threadIdx.x & 31, gwarp = (threadIdx.x >> 5) & 3;
    const int trow = cg * 64 + gwarp * 16 + (lane >> 2);
    return {lane, trow, qpos_begin + trow, s_q + cg * 64 * 128};
  }
  /// O = 0 and every row's state fresh.
  static __device__ __forceinline__ void start(Acc &o, RowState &st) {
#pragma unroll
    for (int i = 0; i < kD / 2; ++i) o[i] = 0.f;
    st.init();
  }

  /// A consumer warpgroup: its 64 rows against every tile the rings carry,
  /// S, softmax and P V of each tile in turn. The two consumer warpgroups
  /// interleave on their own: one's softmax runs under the other's GEMMs.
  /// (Measured on an H200 against consume_fa3 below: docs/performance.md.)
  static __device__ __forceinline__ void consume(const sieve_fwd_params &p, Control &ctl,
                                                 unsigned char *smem, u32 s_q, u32 s_k, u32 s_v,
                                                 int cg, int q0, int h, int b,
                                                 long long qpos_begin) {
    const auto [lane, trow, qrow, s_qg] = seat(s_q, cg, qpos_begin);
    Acc o;
    RowState st;
    start(o, st);
    const float sl2 = p.scale * kLog2e;
    Bar::wait(ctl.q_full, 0);

    pipe::RingPos<kStages> kp, vp;
    Slice s;
    PFrag pf;
    for (;;) {
      Bar::wait(ctl.k.full[kp.slot], kp.phase);
      const u32 tag = read_tag(ctl.k, kp, lane);
      if (pipe::is_end(tag)) break;
      const int tile = pipe::tag_tile(tag);
      Math::qk_issue(s, s_qg, s_k + kp.slot * kKVBytes);
      sm90::wgmma_wait_all();
      sm90::fence_operands(s);
      if (lane == 0) ctl.k.release(kp);
      kp.advance();
      if (needs_mask<kTK>(tile, pipe::tag_full(tag), p.k_len))
        mask_slice<Pattern>(s, tile * kTK, p.k_len, qrow, lane);
      Math::softmax_pack(s, o, st, sl2, pf);
      Bar::wait(ctl.v.full[vp.slot], vp.phase);
      Math::pv_issue(o, pf, s_v + vp.slot * kKVBytes);
      sm90::wgmma_wait_all();
      sm90::fence_operands(o);
      sm90::fence_operands(pf);
      if (lane == 0) ctl.v.release(vp);
      vp.advance();
    }

    Math::store_group(p, st, o, smem, cg, trow, q0, h, b);
  }

  /// The consumers' turns (FlashAttention 3's ping-pong): a warpgroup issues
  /// its GEMMs only in its turn, then passes the turn, so one warpgroup's
  /// softmax runs under the other's GEMMs. Named barrier kTurnBar + cg
  /// completes with its owner's sync and the other warpgroup's arrive (256
  /// threads). Warpgroup 1 arrives once up front (0 goes first) and skips
  /// its last pass, so every barrier ends with as many arrives as syncs.
  static constexpr int kTurnBar = 3;  // 1 and 2 are store_group's
#ifdef SIEVE_WS_PINGPONG  // with -DSIEVE_WS_FA3_ORDER: -DSIEVE_WS_PINGPONG
#ifndef SIEVE_WS_FA3_ORDER
#error "-DSIEVE_WS_PINGPONG takes turns in the FlashAttention 3 order: add -DSIEVE_WS_FA3_ORDER"
#endif
  static constexpr bool kPingPong = true;
#else
  static constexpr bool kPingPong = false;
#endif

  /// Waits for the P V in flight, then frees its V slot.
  static __device__ __forceinline__ void retire_pv(Acc &o, PFrag &pf, Control &ctl,
                                                   pipe::RingPos<kStages> &vp, int lane) {
    sm90::wgmma_wait<0>();
    sm90::fence_operands(o);
    sm90::fence_operands(pf);
    if (lane == 0) ctl.v.release(vp);  // only wgmma read the slot
    vp.advance();
  }

  /// The consumer in FlashAttention 3's order (opt-in, -DSIEVE_WS_FA3_ORDER,
  /// turns with -DSIEVE_WS_PINGPONG): issue S(j) = Q K(j)^T and then P(j - 1)
  /// V(j - 1); wait for S(j) only and run its softmax while P V runs; wait
  /// for P V, rescale O, convert P(j). Checked on the H200, but slower there
  /// than consume() (docs/performance.md), so not the default.
  static __device__ __forceinline__ void consume_fa3(const sieve_fwd_params &p, Control &ctl,
                                                 unsigned char *smem, u32 s_q, u32 s_k, u32 s_v,
                                                 int cg, int q0, int h, int b,
                                                 long long qpos_begin) {
    const auto [lane, trow, qrow, s_qg] = seat(s_q, cg, qpos_begin);
    Acc o;
    RowState st;
    start(o, st);
    const float sl2 = p.scale * kLog2e;
    Bar::wait(ctl.q_full, 0);
    if (kPingPong && cg == 1) sm90::named_arrive(kTurnBar, 256);

    pipe::RingPos<kStages> kp, vp;
    Slice s;
    PFrag pf;              // P of the previous tile
    bool pending = false;  // ... whose P V is still to issue
    for (;;) {
      Bar::wait(ctl.k.full[kp.slot], kp.phase);
      const u32 tag = read_tag(ctl.k, kp, lane);
      const bool end = pipe::is_end(tag);
      if (kPingPong) sm90::named_sync(kTurnBar + cg, 256);
      if (!end) Math::qk_issue(s, s_qg, s_k + kp.slot * kKVBytes);
      if (pending) {
        Bar::wait(ctl.v.full[vp.slot], vp.phase);
        Math::pv_issue(o, pf, s_v + vp.slot * kKVBytes);
      }
      if (kPingPong && !(end && cg == 1)) sm90::named_arrive(kTurnBar + (cg ^ 1), 256);
      if (end) break;
      if (pending)
        sm90::wgmma_wait<1>();  // S(j); P V still running
      else
        sm90::wgmma_wait<0>();
      sm90::fence_operands(s);
      if (lane == 0) ctl.k.release(kp);
      kp.advance();
      const int tile = pipe::tag_tile(tag);
      if (needs_mask<kTK>(tile, pipe::tag_full(tag), p.k_len))
        mask_slice<Pattern>(s, tile * kTK, p.k_len, qrow, lane);
      float mx[2], alpha[2];
      row_max(s, sl2, mx);
      const bool grow = __any_sync(0xffffffffu, outgrew(st, mx));
      if (grow) move_max(st, mx, alpha);
      exponentiate(s, st, sl2);
      if (pending) retire_pv(o, pf, ctl, vp, lane);
      if (grow) scale_rows(o, alpha);
#pragma unroll
      for (int kk = 0; kk < kTK / 16; ++kk) pack_a<Elem>(s, kk, pf[kk]);
      pending = true;
    }
    if (pending) retire_pv(o, pf, ctl, vp, lane);

    Math::store_group(p, st, o, smem, cg, trow, q0, h, b);
  }

  static __device__ __forceinline__ void run(const sieve_fwd_params &p, const sm90::TmaDesc &tq,
                                             const sm90::TmaDesc &tk, const sm90::TmaDesc &tv) {
    extern __shared__ __align__(128) unsigned char smem_raw[];
    const u32 s_base = (smem_addr(smem_raw) + 1023) & ~1023u;
    unsigned char *smem = smem_raw + (s_base - smem_addr(smem_raw));
    const u32 s_q = s_base, s_k = s_q + kQBytes, s_v = s_k + kStages * kKVBytes;
    Control &ctl = *(Control *)(smem + kQBytes + 2 * kStages * kKVBytes);

    const int tid = threadIdx.x, wg = tid >> 7;
    const int qt = gridDim.x - 1 - blockIdx.x;  // longest query tiles first (causal patterns)
    const int h = blockIdx.y, b = blockIdx.z;
    const int kvh = h / (p.heads / p.kv_heads);
    const int q0 = qt * kTQ;
    const long long qpos_begin = (long long)p.k_len - p.q_len + q0;
    const long long qpos_last = (qpos_begin + kTQ > p.k_len ? p.k_len : qpos_begin + kTQ) - 1;

    if (tid == 0) {
      ctl.k.init();
      ctl.v.init();
      Bar::init(ctl.q_full, 1);
      Bar::fence_init();
    }
    __syncthreads();
    if (wg == 0) {
      asm volatile("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(kProducerRegs));
      if (tid == 0)
        produce(p, tq, tk, tv, ctl, s_q, s_k, s_v, q0, h, kvh, b, qpos_begin, qpos_last);
    } else {
      asm volatile("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(kConsumerRegs));
#ifdef SIEVE_WS_FA3_ORDER
      consume_fa3(p, ctl, smem, s_q, s_k, s_v, wg - 1, q0, h, b, qpos_begin);
#else
      consume(p, ctl, smem, s_q, s_k, s_v, wg - 1, q0, h, b, qpos_begin);
#endif
    }
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_FWD_SM90_WS_CUH
