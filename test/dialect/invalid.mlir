// RUN: sieve-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{block_size must have 2 elements [block_q, block_k] but has 1}}
sieve.pattern @one block_size [256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

// expected-error @+1 {{block_size must be in [1, 1048576] but is 0}}
sieve.pattern @zero block_size [0, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

sieve.pattern @sink block_size [256, 256] {
  // expected-error @+1 {{count must be in [1, 1099511627776] but is 0}}
  %s = sieve.sink 0 block
  sieve.yield %s : !sieve.mask
}

// -----

sieve.pattern @window block_size [256, 256] {
  // expected-error @+1 {{count must be in [1, 1099511627776] but is -5}}
  %w = sieve.window -5 token
  sieve.yield %w : !sieve.mask
}

// -----

sieve.pattern @global block_size [256, 256] {
  // expected-error @+1 {{count must be in [1, 1099511627776] but is 0}}
  %g = sieve.global 0 block
  sieve.yield %g : !sieve.mask
}

// -----

sieve.pattern @band block_size [256, 256] {
  // expected-error @+1 {{min (3) must not exceed max (2)}}
  %b = sieve.band 3 to 2 block
  sieve.yield %b : !sieve.mask
}

// -----

sieve.pattern @stride block_size [256, 256] {
  // expected-error @+1 {{blocks must be in [1, 1099511627776] but is 0}}
  %s = sieve.stride 0
  sieve.yield %s : !sieve.mask
}

// -----

sieve.pattern @dilated block_size [256, 256] {
  // expected-error @+1 {{rate must be in [1, 1099511627776] but is 0}}
  %d = sieve.dilated rate 0 window 20
  sieve.yield %d : !sieve.mask
}

// -----

sieve.pattern @longnet_lengths block_size [256, 256] {
  // expected-error @+1 {{has 2 segments but 1 ratios}}
  %l = sieve.longnet segments [8, 16] ratios [1]
  sieve.yield %l : !sieve.mask
}

// -----

sieve.pattern @longnet_ratio block_size [256, 256] {
  // expected-error @+1 {{ratio must be a power of two but is 3}}
  %l = sieve.longnet segments [8] ratios [3]
  sieve.yield %l : !sieve.mask
}

// -----

sieve.pattern @longnet_empty block_size [256, 256] {
  // expected-error @+1 {{needs at least one segment}}
  %l = sieve.longnet segments [] ratios []
  sieve.yield %l : !sieve.mask
}

// -----

sieve.pattern @empty_union block_size [256, 256] {
  // expected-error @+1 {{needs at least one operand}}
  %u = sieve.union
  sieve.yield %u : !sieve.mask
}

// -----

sieve.pattern @yield_type block_size [256, 256] {
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    %t = arith.constant true
    sieve.yield %t : i1
  }
  sieve.yield %p : !sieve.mask
}

// -----

// expected-error @+1 {{body must have no arguments}}
sieve.pattern @pattern_args block_size [256, 256] {
^bb0(%x: i64):
  %f = sieve.full
  sieve.yield %f : !sieve.mask
}

// -----

// expected-note @+1 {{in this pattern}}
sieve.pattern @foreign block_size [256, 256] {
  // expected-error @+1 {{pattern body may only hold ops of the pattern algebra}}
  %c = arith.constant 1 : i64
  %f = sieve.full
  sieve.yield %f : !sieve.mask
}

// -----

sieve.pattern @predicate_args block_size [256, 256] {
  // expected-error @+1 {{body must take four i64 arguments (q, k, qb, kb)}}
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64):
    %t = arith.constant true
    sieve.yield %t : i1
  }
  sieve.yield %p : !sieve.mask
}

// -----

sieve.pattern @predicate_yield block_size [256, 256] {
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    // expected-error @+1 {{in a predicate must yield i1 but yields 'i64'}}
    sieve.yield %q : i64
  }
  sieve.yield %p : !sieve.mask
}

// -----

sieve.pattern @predicate_op block_size [256, 256] {
  // expected-note @+1 {{in this predicate}}
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    // expected-error @+1 {{is not supported in a sieve.predicate body}}
    %m = arith.maxsi %q, %k : i64
    %c = arith.cmpi eq, %m, %q : i64
    sieve.yield %c : i1
  }
  sieve.yield %p : !sieve.mask
}

// -----

sieve.pattern @predicate_i1_add block_size [256, 256] {
  // expected-note @+1 {{in this predicate}}
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    %t = arith.constant true
    // expected-error @+1 {{is not supported in a sieve.predicate body}}
    %s = arith.addi %t, %t : i1
    sieve.yield %s : i1
  }
  sieve.yield %p : !sieve.mask
}

// -----

sieve.pattern @predicate_unsigned block_size [256, 256] {
  // expected-note @+1 {{in this predicate}}
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    // expected-error @+1 {{is not supported in a sieve.predicate body}}
    %c = arith.cmpi ult, %q, %k : i64
    sieve.yield %c : i1
  }
  sieve.yield %p : !sieve.mask
}

// -----

sieve.pattern @predicate_capture block_size [256, 256] {
  %f = sieve.full
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    // expected-error @+1 {{in a predicate must yield i1 but yields '!sieve.mask'}}
    sieve.yield %f : !sieve.mask
  }
  sieve.yield %p : !sieve.mask
}

// -----

sieve.pattern @no_terminator block_size [256, 256] {
  // expected-error @+1 {{block with no terminator}}
  %f = sieve.full
}

// -----

// expected-note @+1 {{see existing symbol definition here}}
sieve.pattern @dup block_size [256, 256] {
  %f = sieve.full
  sieve.yield %f : !sieve.mask
}
// expected-error @+1 {{redefinition of symbol named 'dup'}}
sieve.pattern @dup block_size [256, 256] {
  %f = sieve.full
  sieve.yield %f : !sieve.mask
}

// -----

// expected-error @+1 {{refers to @nowhere, which is not a sieve.pattern}}
sieve.plan @p of @nowhere tile [128, 128] forward closed_form generators []

// -----

sieve.pattern @q block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}
// expected-error @+1 {{tile must have 2 elements [tile_q, tile_k] but has 3}}
sieve.plan @p of @q tile [128, 128, 1] forward closed_form generators []

// -----

sieve.pattern @q block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}
// expected-error @+1 {{walk must be fallback when a generator is fallback}}
sieve.plan @p of @q tile [128, 128] forward closed_form generators [#sieve.gen<"predicate", fallback>]

// -----

// Issue 19 item 6: every integer attribute is held to the importer's limits.
sieve.pattern @causal_max block_size [256, 256] {
  // expected-error @+1 {{offset must be in [-1099511627776, 1099511627776] but is 9223372036854775807}}
  %c = sieve.causal offset 9223372036854775807
  sieve.yield %c : !sieve.mask
}

// -----

sieve.pattern @causal_min block_size [256, 256] {
  // expected-error @+1 {{offset must be in [-1099511627776, 1099511627776] but is -9223372036854775808}}
  %c = sieve.causal offset -9223372036854775808
  sieve.yield %c : !sieve.mask
}

// -----

// Item 8: names are identifiers; they are pasted into CUDA comments, SVG and
// JSON, so a newline there would inject code.
// expected-error @+1 {{name must be an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters) but is "x\0Astatic_assert(false);\0A//"}}
sieve.pattern @"x\0Astatic_assert(false);\0A//" block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

// expected-error @+1 {{name must be an identifier ([A-Za-z_][A-Za-z0-9_]*, at most 128 characters) but is ""}}
sieve.pattern @"" block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

// Item 7: not UTF-8 (inspect --json aborted on it).
// expected-error @+1 {{but is "\FF"}}
sieve.pattern @"\FF" block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

// expected-error @+1 {{but is "a<b&c"}}
sieve.pattern @"a<b&c" block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

// expected-error @+1 {{but is "9lives"}}
sieve.pattern @"9lives" block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

// expected-error @+1 {{at most 128 characters) but is "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}}
sieve.pattern @aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}

// -----

sieve.pattern @p block_size [256, 256] {
  %c = sieve.causal
  sieve.yield %c : !sieve.mask
}
// expected-error @+1 {{'sieve.plan' op name must be an identifier}}
sieve.plan @"p forward" of @p tile [128, 128] forward closed_form generators [#sieve.gen<"causal", range>]
