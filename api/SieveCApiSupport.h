//===- SieveCApiSupport.h - Shared pieces of the C API -----------*- C++ -*-===//

#ifndef SIEVE_API_SIEVECAPISUPPORT_H
#define SIEVE_API_SIEVECAPISUPPORT_H

#include "sieve/Attention.h"
#include "sieve/sieve_c.h"

#include <cstddef>
#include <string>

namespace sieve::capi {

/// Writes a failed status's message to `error` (at most `size` bytes, always
/// NUL-terminated, when `error` is not null); returns 0 for success, else 1.
int fail(const Status &s, char *error, size_t size);

/// The one place C's sieve_dtype becomes the C++ API's ElementType.
Status toElementType(int dtype, ElementType &out);

/// The value of a sieve_dtype from C, which may be any int: loading one
/// outside the enumerators as the C++ enum would be undefined behaviour.
int rawDtype(const sieve_dtype &dtype);

/// Copies `bytes` into memory the caller releases with sieve_free; false
/// when there is no memory.
bool allocCopy(const std::string &bytes, char **out);

} // namespace sieve::capi

#endif // SIEVE_API_SIEVECAPISUPPORT_H
