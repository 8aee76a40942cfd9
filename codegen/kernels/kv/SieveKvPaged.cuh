//===- SieveKvPaged.cuh - Addressing K and V through a block table -*- CUDA -*-===//
//
// A paged KV cache: K and V are [num_pages, page_size, kv_heads, head_dim]
// with element strides (page, slot, head); key r of sequence b is slot
// r % page_size of page block_table[b][r / page_size]. The walk yields
// logical key tiles; this policy turns each row into a page address, so a
// tile may span pages (page sizes are multiples of 16, the loader's row
// granularity is one row). A table entry outside [0, num_pages) reads as
// zeros instead of faulting.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_KV_PAGED_CUH
#define SIEVE_KERNELS_KV_PAGED_CUH

namespace sieve::dev {

struct PagedKv {
  static constexpr int kAbi = SIEVE_ABI_KV_PAGED;
  const u16 *k, *v;
  const int *pages;  // this sequence's row of the block table
  long long k_page, k_slot, v_page, v_slot;
  int page_size, num_pages;

  __device__ __forceinline__ static PagedKv make(const sieve_decode_params &p, int b, int kvh) {
    PagedKv kv;
    kv.k = (const u16 *)p.k + kvh * p.k_stride_h;
    kv.v = (const u16 *)p.v + kvh * p.v_stride_h;
    kv.pages = p.block_table + (long long)b * p.max_pages;
    kv.k_page = p.k_stride_b, kv.k_slot = p.k_stride_r;
    kv.v_page = p.v_stride_b, kv.v_slot = p.v_stride_r;
    kv.page_size = p.page_size, kv.num_pages = p.num_pages;
    return kv;
  }
  /// Row r of K and of V (one table read for both); null for a row whose
  /// page entry is out of range. r must be below the sequence's length.
  __device__ __forceinline__ void rows(int r, const u16 *&kr, const u16 *&vr) const {
    const int slot_page = r / page_size;
    const int page = pages[slot_page];
    const int slot = r - slot_page * page_size;
    const bool ok = page >= 0 && page < num_pages;
    kr = ok ? k + page * k_page + slot * k_slot : nullptr;
    vr = ok ? v + page * v_page + slot * v_slot : nullptr;
  }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_KV_PAGED_CUH
