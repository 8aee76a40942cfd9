/*===- sieve_export.h - What libsieve.so exports --------------------------===*
 *
 * The public headers wrap their declarations in SIEVE_API_BEGIN and
 * SIEVE_API_END. sieve is compiled with hidden visibility, so what lies
 * between them is all that libsieve.so exports; the MLIR and LLVM linked
 * into it stay hidden too (cmake/SieveSharedLibrary.cmake).
 *
 *===----------------------------------------------------------------------===*/

#ifndef SIEVE_RUNTIME_SIEVE_EXPORT_H
#define SIEVE_RUNTIME_SIEVE_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define SIEVE_API_BEGIN _Pragma("GCC visibility push(default)")
#define SIEVE_API_END _Pragma("GCC visibility pop")
#else
#define SIEVE_API_BEGIN
#define SIEVE_API_END
#endif

#endif /* SIEVE_RUNTIME_SIEVE_EXPORT_H */
