// RUN: sieve-opt %s | sieve-opt | FileCheck %s
// RUN: sieve-opt %s --mlir-print-op-generic | sieve-opt | FileCheck %s

// CHECK-LABEL: sieve.pattern @power_attention block_size [256, 256] {
// CHECK:         %[[C:.*]] = sieve.causal
// CHECK-NEXT:    %[[S:.*]] = sieve.sink 1 block
// CHECK-NEXT:    %[[W:.*]] = sieve.window 5 block
// CHECK-NEXT:    %[[P:.*]] = sieve.power_of_two
// CHECK-NEXT:    %[[U:.*]] = sieve.union %[[S]], %[[W]], %[[P]]
// CHECK-NEXT:    %[[M:.*]] = sieve.intersect %[[C]], %[[U]]
// CHECK-NEXT:    sieve.yield %[[M]] : !sieve.mask
sieve.pattern @power_attention block_size [256, 256] {
  %causal = sieve.causal
  %sink = sieve.sink 1 block
  %window = sieve.window 5 block
  %power = sieve.power_of_two
  %any = sieve.union %sink, %window, %power
  %mask = sieve.intersect %causal, %any
  sieve.yield %mask : !sieve.mask
}

// CHECK-LABEL: sieve.pattern @every_leaf block_size [64, 128] {
// CHECK:         sieve.full
// CHECK-NEXT:    sieve.causal offset 3
// CHECK-NEXT:    sieve.causal offset -2
// CHECK-NEXT:    sieve.sink 16 token
// CHECK-NEXT:    sieve.window 100 token
// CHECK-NEXT:    sieve.band -2 to 3 block
// CHECK-NEXT:    sieve.band 0 to 0 token
// CHECK-NEXT:    sieve.stride 32
// CHECK-NEXT:    sieve.dilated rate 2 window 20
// CHECK-NEXT:    sieve.longnet segments [8, 16] ratios [1, 2]
// CHECK-NEXT:    sieve.global 2 block
// CHECK-NEXT:    sieve.global 7 token
// CHECK-NEXT:    %[[U:.*]] = sieve.union %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}
// CHECK-NEXT:    %[[I:.*]] = sieve.intersect %[[U]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}
// CHECK-NEXT:    %[[N:.*]] = sieve.not %[[I]]
// CHECK-NEXT:    sieve.yield %[[N]] : !sieve.mask
sieve.pattern @every_leaf block_size [64, 128] {
  %0 = sieve.full
  %1 = sieve.causal offset 3
  %2 = sieve.causal offset -2
  %3 = sieve.sink 16 token
  %4 = sieve.window 100 token
  %5 = sieve.band -2 to 3 block
  %6 = sieve.band 0 to 0 token
  %7 = sieve.stride 32
  %8 = sieve.dilated rate 2 window 20
  %9 = sieve.longnet segments [8, 16] ratios [1, 2]
  %10 = sieve.global 2 block
  %11 = sieve.global 7 token
  %u = sieve.union %0, %1, %2, %3, %4, %5
  %i = sieve.intersect %u, %6, %7, %8, %9, %10, %11
  %n = sieve.not %i
  sieve.yield %n : !sieve.mask
}

// The default offset of sieve.causal is elided when printing.
// CHECK-LABEL: sieve.pattern @causal_default block_size [256, 256] {
// CHECK-NEXT:    %[[C:.*]] = sieve.causal{{$}}
sieve.pattern @causal_default block_size [256, 256] {
  %c = sieve.causal offset 0
  sieve.yield %c : !sieve.mask
}

// CHECK-LABEL: sieve.pattern @custom block_size [256, 256] {
// CHECK:         %[[P:.*]] = sieve.predicate {
// CHECK-NEXT:    ^bb0(%[[Q:.*]]: i64, %[[K:.*]]: i64, %[[QB:.*]]: i64, %[[KB:.*]]: i64):
// CHECK-NEXT:      %[[C3:.*]] = arith.constant 3 : i64
// CHECK-NEXT:      %[[R:.*]] = arith.remsi %[[KB]], %[[C3]] : i64
// CHECK:           %[[IS:.*]] = arith.cmpi eq, %[[R]], %{{.*}} : i64
// CHECK-NEXT:      sieve.yield %[[IS]] : i1
// CHECK-NEXT:    }
sieve.pattern @custom block_size [256, 256] {
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    %c3 = arith.constant 3 : i64
    %r = arith.remsi %kb, %c3 : i64
    %c0 = arith.constant 0 : i64
    %is = arith.cmpi eq, %r, %c0 : i64
    sieve.yield %is : i1
  }
  sieve.yield %p : !sieve.mask
}
