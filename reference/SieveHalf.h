//===- SieveHalf.h - bf16 and fp16 on the host ------------------*- C++ -*-===//
//
// Conversions between float and the kernels' 16-bit element types, rounding
// to nearest even, for tools and tests that fill inputs and read outputs.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_REFERENCE_SIEVEHALF_H
#define SIEVE_REFERENCE_SIEVEHALF_H

#include <cstdint>

namespace sieve::half {

uint16_t floatToBf16(float f);
float bf16ToFloat(uint16_t h);
uint16_t floatToFp16(float f);
float fp16ToFloat(uint16_t h);

/// The 16-bit quiet NaN of each type (for poisoning outputs).
constexpr uint16_t kBf16NaN = 0x7fc0, kFp16NaN = 0x7e00;

} // namespace sieve::half

#endif // SIEVE_REFERENCE_SIEVEHALF_H
