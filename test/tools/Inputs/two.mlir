sieve.pattern @first block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}
sieve.pattern @second block_size [128, 128] {
  %f = sieve.full
  sieve.yield %f : !sieve.mask
}
