// A name that would paste code into the generated CUDA's comment.
sieve.pattern @"x\0Astatic_assert(false, \22injected\22);\0A//" block_size [64, 64] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}
