// A name that is not UTF-8 (inspect --json aborted on it).
sieve.pattern @"\FF" block_size [64, 64] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}
