// RUN: sieve-opt %s --sieve-lower-to-plan | FileCheck %s
// RUN: sieve-opt %s --sieve-lower-to-plan="tile-q=64 tile-k=32 transposed=false" | FileCheck %s --check-prefix=OPTS
// RUN: sieve-opt %s --sieve-lower-to-plan | sieve-opt --sieve-lower-to-plan | FileCheck %s --check-prefix=TWICE
// RUN: not sieve-opt %s --sieve-lower-to-plan="tile-q=0" 2>&1 | FileCheck %s --check-prefix=BAD

// CHECK-LABEL: sieve.pattern @power_attention
// CHECK:       sieve.plan @power_attention_forward of @power_attention tile [128, 128] forward closed_form
// CHECK-SAME:    generators [#sieve.gen<"causal", range>, #sieve.gen<"sink", range>, #sieve.gen<"window", range>, #sieve.gen<"power_of_two", power_offsets>]
// CHECK-NEXT:  sieve.plan @power_attention_transposed of @power_attention tile [128, 128] transposed closed_form
sieve.pattern @power_attention block_size [256, 256] {
  %c = sieve.causal
  %s = sieve.sink 1 block
  %w = sieve.window 5 block
  %p = sieve.power_of_two
  %u = sieve.union %s, %w, %p
  %m = sieve.intersect %c, %u
  sieve.yield %m : !sieve.mask
}

// A custom predicate has no closed form: the walk falls back.
// CHECK-LABEL: sieve.pattern @custom
// CHECK:       sieve.plan @custom_forward of @custom tile [128, 128] forward fallback
// CHECK-SAME:    generators [#sieve.gen<"causal", range>, #sieve.gen<"predicate", fallback>, #sieve.gen<"stride", strided>, #sieve.gen<"dilated", dilated>, #sieve.gen<"longnet", segments>]
sieve.pattern @custom block_size [64, 64] {
  %c = sieve.causal
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    %c3 = arith.constant 3 : i64
    %r = arith.remsi %k, %c3 : i64
    %c0 = arith.constant 0 : i64
    %t = arith.cmpi eq, %r, %c0 : i64
    sieve.yield %t : i1
  }
  %s = sieve.stride 4
  %d = sieve.dilated rate 2 window 8
  %l = sieve.longnet segments [4] ratios [2]
  %u = sieve.union %p, %s, %d, %l
  %m = sieve.intersect %c, %u
  sieve.yield %m : !sieve.mask
}

// OPTS: sieve.plan @power_attention_forward of @power_attention tile [64, 32] forward closed_form
// OPTS-NOT: transposed

// Running the pass again replaces the plans rather than adding more.
// TWICE-COUNT-4: sieve.plan
// TWICE-NOT:     sieve.plan

// BAD: error: sieve-lower-to-plan: tile-q and tile-k must be positive, got 0 and 128
