// A window of zero blocks does not verify.
sieve.pattern @bad block_size [256, 256] {
  %w = sieve.window 0 block
  sieve.yield %w : !sieve.mask
}
