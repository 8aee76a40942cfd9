"""Prints a pattern of N intersections of causal with itself (1 + N terms):
chain.py mlir N, or chain.py json N for a union of N causal masks."""
import sys

kind, n = sys.argv[1], int(sys.argv[2])
if kind == "mlir":
    print("sieve.pattern @chain block_size [64, 64] {")
    print("  %c = sieve.causal")
    prev = "%c"
    for i in range(n):
        print(f"  %i{i} = sieve.intersect {prev}, %c")
        prev = f"%i{i}"
    print(f"  sieve.yield {prev} : !sieve.mask")
    print("}")
else:
    print('{"mask": {"union": [' + ", ".join(['"causal"'] * n) + "]}}")
