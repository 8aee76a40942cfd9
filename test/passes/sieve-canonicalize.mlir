// RUN: sieve-opt %s --sieve-canonicalize --split-input-file | FileCheck %s

// Nested unions flatten; duplicates and implied operands go.
// CHECK-LABEL: sieve.pattern @flatten_absorb
// CHECK-DAG:     %[[C:.*]] = sieve.causal
// CHECK-DAG:     %[[W:.*]] = sieve.window 5 block
// CHECK-DAG:     %[[S:.*]] = sieve.sink 2 block
// CHECK-DAG:     %[[P:.*]] = sieve.power_of_two
// CHECK:         %[[U:.*]] = sieve.union %[[S]], %[[P]], %[[W]]
// CHECK-NEXT:    %[[M:.*]] = sieve.intersect %[[C]], %[[U]]
// CHECK-NEXT:    sieve.yield %[[M]] : !sieve.mask
sieve.pattern @flatten_absorb block_size [256, 256] {
  %c = sieve.causal
  %s1 = sieve.sink 1 block
  %s2 = sieve.sink 512 token
  %w3 = sieve.window 3 block
  %w5 = sieve.window 5 block
  %p = sieve.power_of_two
  %inner = sieve.union %s1, %w3, %p
  %outer = sieve.union %s2, %inner, %w5, %w5
  %m = sieve.intersect %c, %outer
  sieve.yield %m : !sieve.mask
}

// -----

// full absorbs a union and is the identity of an intersection.
// CHECK-LABEL: sieve.pattern @identities
// CHECK-NEXT:    %[[C:.*]] = sieve.causal
// CHECK-NEXT:    sieve.yield %[[C]] : !sieve.mask
sieve.pattern @identities block_size [256, 256] {
  %f = sieve.full
  %w = sieve.window 3 token
  %any = sieve.union %w, %f
  %c = sieve.causal
  %m = sieve.intersect %any, %c, %f
  sieve.yield %m : !sieve.mask
}

// -----

// The empty mask (not full) absorbs an intersection; not(not x) is x.
// CHECK-LABEL: sieve.pattern @empty_and_double_not
// CHECK-NEXT:    %[[F:.*]] = sieve.full
// CHECK-NEXT:    %[[E:.*]] = sieve.not %[[F]]
// CHECK-NEXT:    sieve.yield %[[E]] : !sieve.mask
sieve.pattern @empty_and_double_not block_size [256, 256] {
  %f = sieve.full
  %e = sieve.not %f
  %c = sieve.causal
  %n1 = sieve.not %c
  %n2 = sieve.not %n1
  %m = sieve.intersect %n2, %e
  sieve.yield %m : !sieve.mask
}

// -----

// In an intersection the wider operand goes: causal offset 4 holds wherever
// causal does, and a band of tokens [0, 3] lies inside causal.
// CHECK-LABEL: sieve.pattern @intersect_keeps_narrowest
// CHECK-NEXT:    %[[W:.*]] = sieve.window 4 token
// CHECK-NEXT:    sieve.yield %[[W]] : !sieve.mask
sieve.pattern @intersect_keeps_narrowest block_size [256, 256] {
  %c = sieve.causal
  %c4 = sieve.causal offset 4
  %b = sieve.band 0 to 3 token
  %m = sieve.intersect %c4, %c, %b
  sieve.yield %m : !sieve.mask
}

// -----

// Constant predicates fold to full or to the empty mask.
// CHECK-LABEL: sieve.pattern @constant_predicates
// CHECK-NOT:     sieve.predicate
// CHECK:         %[[C:.*]] = sieve.causal
// CHECK-NEXT:    sieve.yield %[[C]] : !sieve.mask
sieve.pattern @constant_predicates block_size [256, 256] {
  %always = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    %d = arith.subi %q, %q : i64
    %c0 = arith.constant 0 : i64
    %t = arith.cmpi eq, %d, %c0 : i64
    sieve.yield %t : i1
  }
  %never = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    %c3 = arith.constant 3 : i64
    %c4 = arith.constant 4 : i64
    %f = arith.cmpi sgt, %c3, %c4 : i64
    sieve.yield %f : i1
  }
  %c = sieve.causal
  %u = sieve.union %c, %never
  %m = sieve.intersect %u, %always
  sieve.yield %m : !sieve.mask
}

// -----

// Normal forms: band 0..W-1 is a window; dilated rate 1 is a block window;
// whole-block token sinks and globals are counted in blocks.
// CHECK-LABEL: sieve.pattern @normal_forms
// CHECK-DAG:     sieve.window 4 token
// CHECK-DAG:     sieve.window 6 block
// CHECK-DAG:     sieve.sink 2 block
// CHECK-DAG:     sieve.global 3 block
// CHECK-DAG:     sieve.sink 100 token
// CHECK-NOT:     sieve.band
// CHECK-NOT:     sieve.dilated
sieve.pattern @normal_forms block_size [128, 128] {
  %b = sieve.band 0 to 3 token
  %d = sieve.dilated rate 1 window 6
  %s = sieve.sink 256 token
  %g = sieve.global 384 token
  %s2 = sieve.sink 100 token
  %n = sieve.not %s2
  %u = sieve.union %b, %d, %s, %g
  %m = sieve.intersect %u, %n
  sieve.yield %m : !sieve.mask
}

// -----

// Nothing to do: an already canonical PowerAttention is left alone.
// CHECK-LABEL: sieve.pattern @canonical
// CHECK-NEXT:    %[[C:.*]] = sieve.causal
// CHECK-NEXT:    %[[S:.*]] = sieve.sink 1 block
// CHECK-NEXT:    %[[W:.*]] = sieve.window 5 block
// CHECK-NEXT:    %[[P:.*]] = sieve.power_of_two
// CHECK-NEXT:    %[[U:.*]] = sieve.union %[[S]], %[[W]], %[[P]]
// CHECK-NEXT:    %[[M:.*]] = sieve.intersect %[[C]], %[[U]]
// CHECK-NEXT:    sieve.yield %[[M]] : !sieve.mask
sieve.pattern @canonical block_size [256, 256] {
  %c = sieve.causal
  %s = sieve.sink 1 block
  %w = sieve.window 5 block
  %p = sieve.power_of_two
  %u = sieve.union %s, %w, %p
  %m = sieve.intersect %c, %u
  sieve.yield %m : !sieve.mask
}
