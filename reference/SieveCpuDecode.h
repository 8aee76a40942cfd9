//===- SieveCpuDecode.h - Reference decode over the inference layouts -*- C++ -*-===//
//
// The CPU executor for the layouts of the decode kernels: variable-length
// batches, paged KV and split-KV with the combine, in plain C++ (double
// accumulation, float storage). Layouts (all contiguous, row-major):
//
//   q, o   [totalQ, heads, headDim]       sequence b's queries are rows
//                                         cuQ[b] .. cuQ[b + 1] - 1
//   lse    [totalQ, heads]                natural log; -inf: attends nothing
//   k, v   dense: [totalK, kvHeads, headDim], rows cuK[b] .. cuK[b + 1] - 1
//          paged: [numPages, pageSize, kvHeads, headDim]; key r of
//                 sequence b is slot r % pageSize of page
//                 blockTable[b * maxPages + r / pageSize]
//
// A batch of equal lengths in [batch, length, heads, headDim] is the packed
// layout with cuQ = 0, L, 2L, ... Query i of sequence b sits at position
// kLens[b] - qLens[b] + i.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_REFERENCE_SIEVECPUDECODE_H
#define SIEVE_REFERENCE_SIEVECPUDECODE_H

#include "dialect/SieveMask.h"
#include <string>

#include <cstdint>
#include <vector>

namespace sieve::reference {

struct DecodeProblem {
  int heads = 1, kvHeads = 1, headDim = 128;
  double scale = 0; ///< 0: 1 / sqrt(headDim).
  std::vector<int> qLens, kLens; ///< Per sequence (the batch is their count).
  int pageSize = 0;              ///< 0: dense packed K and V.
  int maxPages = 0, numPages = 0;
  std::vector<int> blockTable; ///< [batch, maxPages] when paged.
  /// Split each sequence's keys into this many contiguous ranges of whole
  /// tileK tiles, attend each alone and merge them by LSE (the kernels'
  /// split-KV and combine); 1: no split.
  int splits = 1, tileK = 64;

  int batch() const { return int(qLens.size()); }
  int64_t totalQ() const;
  int64_t totalK() const; ///< Dense rows (sum of kLens).
  /// Prefix sums of qLens / kLens (batch + 1 entries).
  std::vector<int> cuQ() const;
  std::vector<int> cuK() const;
  /// Elements of q (and o), of K (and V: dense or the whole page pool), of lse.
  size_t qElements() const { return size_t(totalQ()) * heads * headDim; }
  size_t kvElements() const;
  size_t lseElements() const { return size_t(totalQ()) * heads; }

  /// Checks lengths, page size, table entries: a message for the first
  /// problem, or "" when there is none.
  std::string validate() const;
};

/// o and lse from q, k, v in the layouts above.
void decodeForward(const mask::Pattern &pattern, const DecodeProblem &problem,
                   const std::vector<float> &q, const std::vector<float> &k,
                   const std::vector<float> &v, std::vector<float> &o, std::vector<float> &lse);

/// Copies dense packed K (or V) into a page pool through `problem`'s block
/// table: the paged form of the same tensor. Slots no sequence uses are 0.
std::vector<float> pageKv(const DecodeProblem &problem, const std::vector<float> &dense);

} // namespace sieve::reference

#endif // SIEVE_REFERENCE_SIEVECPUDECODE_H
