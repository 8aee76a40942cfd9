/* The C API: compile kernels, report a located error, and where there is a
 * GPU launch causal attention and check its output. */
#include <sieve/sieve_c.h>

#include <stdio.h>
#include <string.h>

int main(void) {
  char error[512];
  size_t size = 0;
  printf("sieve %s (C API)\n", sieve_version());
  if (sieve_compile_cubin("builtin:sliding_window", 128, SIEVE_BF16, "sm_80", NULL, &size, error,
                          sizeof error) != 0) {
    if (strstr(error, "NVRTC not found")) {
      printf("skipped: %s\n", error);
      return 0;
    }
    fprintf(stderr, "compile failed: %s\n", error);
    return 1;
  }
  printf("sliding_window for sm_80: %zu-byte cubin\n", size);
  if (sieve_compile_cubin("builtin:nope", 128, SIEVE_BF16, "sm_80", NULL, &size, error,
                          sizeof error) == 0 || !strstr(error, "unknown built-in 'nope'")) {
    fprintf(stderr, "expected an error for an unknown built-in, got: %s\n", error);
    return 1;
  }
  sieve_kernel *kernel = NULL;
  /* NULL: compile for the GPU present (sm_90a, the wgmma kernel, on Hopper). */
  if (sieve_kernel_create("builtin:causal", 128, SIEVE_BF16, NULL, &kernel, error,
                          sizeof error) != 0) {
    printf("not loaded: %s\n", error);
    return 0;
  }

  /* Causal attention over all-ones inputs: every output element is 1. */
  sieve_attention_args args;
  memset(&args, 0, sizeof args);
  args.batch = 1, args.heads = 4, args.kv_heads = 2, args.q_len = 129, args.k_len = 515;
  args.head_dim = 128, args.dtype = SIEVE_BF16;
  sieve_set_contiguous_strides(&args);
  size_t nq = (size_t)args.heads * args.q_len * 128, nkv = (size_t)args.kv_heads * args.k_len * 128;
  static unsigned short host[4 * 515 * 128];
  for (size_t i = 0; i < nkv; ++i)
    host[i] = 0x3f80; /* bf16 1.0 */
  void *q = NULL, *k = NULL, *v = NULL, *o = NULL;
  int rc = sieve_device_alloc(nq * 2, &q, error, sizeof error) ||
           sieve_device_alloc(nkv * 2, &k, error, sizeof error) ||
           sieve_device_alloc(nkv * 2, &v, error, sizeof error) ||
           sieve_device_alloc(nq * 2, &o, error, sizeof error) ||
           sieve_copy_to_device(q, host, nq * 2, error, sizeof error) ||
           sieve_copy_to_device(k, host, nkv * 2, error, sizeof error) ||
           sieve_copy_to_device(v, host, nkv * 2, error, sizeof error);
  if (!rc) {
    args.q = q, args.k = k, args.v = v, args.o = o;
    rc = sieve_kernel_launch(kernel, &args, NULL, error, sizeof error) ||
         sieve_device_synchronize(error, sizeof error) ||
         sieve_copy_to_host(host, o, nq * 2, error, sizeof error);
  }
  for (size_t i = 0; !rc && i < nq; ++i)
    if (host[i] != 0x3f80) {
      snprintf(error, sizeof error, "element %zu is 0x%04x, expected 1.0", i, host[i]);
      rc = 1;
    }
  /* A bad argument is an error, not a crash. */
  args.q = NULL;
  char bad[256];
  if (!rc && (sieve_kernel_launch(kernel, &args, NULL, bad, sizeof bad) == 0 ||
              !strstr(bad, "q is null"))) {
    snprintf(error, sizeof error, "a null q launched: %s", bad);
    rc = 1;
  }
  void *buffers[] = {q, k, v, o};
  for (int i = 0; i < 4; ++i)
    if (buffers[i])
      sieve_device_free(buffers[i], NULL, 0);
  sieve_kernel_destroy(kernel);
  if (rc) {
    fprintf(stderr, "launch failed: %s\n", error);
    return 1;
  }
  printf("launched on the GPU: %zu outputs checked\n", nq);
  return 0;
}
