"""What the per-example floor leaves to gain: fastbp's fused first-layer sweep against the floor.

The per-example step of a network such as 784-100-10 spends most of its time in one sweep
over W^0: the update W -= lr delta x^T fused with the next example's first-layer products
z = W_new x_next (``_blocks.row_sweeps`` in FWD mode, four rows at a time, a last 1-3
one by one). The bench's floor (``fastbp.bench.floor.sweep``) is a plain read-modify-write
sweep over the same weights: one load, one multiply-add and one store per weight. The fused
sweep does the same memory traffic with twice the arithmetic and one more input row. This
script times, on one layer of ``--rows`` x ``--inputs`` weights (all arrays on cache lines,
best of ``--repeat``):

    floor      the bench's sweep (rank-1 update only)
    fastbp     _blocks.row_sweeps(FWD): fastbp's fused sweep, as the epoch runs it
    fused 1    the fused sweep one row at a time (a reference: x and x_next loaded per weight)
    fused 2    two rows at a time
    update 4   four rows at a time, update only (no products)

and prints each as µs per sweep and as a ratio to the floor.

    taskset -c 1 python benchmarks/fused_sweep.py [--rows 100] [--inputs 784]
"""
import argparse
import time

import numpy as np

from fastbp._blocks import FWD, row_sweeps
from fastbp._jit import U, cast_like, jit
from fastbp.bench.floor import sweep
from fastbp.layout import aligned_copy


@jit
def fastbp_fused(theta, d, x, xn, z, reps):
    rows, n = U(d.shape[0]), U(x.shape[0])
    lr = cast_like(theta, 1.0)
    for _ in range(reps):
        row_sweeps(U(FWD), theta, lr, lr, U(0), rows, n, d, U(0), x, U(0), xn, z, U(0))


@jit
def fused_one(theta, d, x, xn, z, reps):
    rows, n = U(d.shape[0]), U(x.shape[0])
    for _ in range(reps):
        for r in range(rows):
            c = d[r]
            base = r * n
            acc = cast_like(theta, 0.0)
            for i in range(n):
                w = theta[base + i] - c * x[i]
                theta[base + i] = w
                acc += w * xn[i]
            z[r] = acc


@jit
def fused_two(theta, d, x, xn, z, reps):
    rows, n = U(d.shape[0]), U(x.shape[0])
    for _ in range(reps):
        r = U(0)
        while r + U(2) <= rows:
            c0, c1 = d[r], d[r + U(1)]
            b0 = r * n
            b1 = b0 + n
            a0 = cast_like(theta, 0.0)
            a1 = cast_like(theta, 0.0)
            for i in range(n):
                xi, di = x[i], xn[i]
                w0 = theta[b0 + i] - c0 * xi
                w1 = theta[b1 + i] - c1 * xi
                theta[b0 + i] = w0
                theta[b1 + i] = w1
                a0 += w0 * di
                a1 += w1 * di
            z[r] = a0
            z[r + U(1)] = a1
            r += U(2)


@jit
def update_four(theta, d, x, xn, z, reps):
    rows, n = U(d.shape[0]), U(x.shape[0])
    for _ in range(reps):
        r = U(0)
        while r + U(4) <= rows:
            c0, c1, c2, c3 = d[r], d[r + U(1)], d[r + U(2)], d[r + U(3)]
            b0 = r * n
            for i in range(n):
                xi = x[i]
                theta[b0 + i] -= c0 * xi
                theta[b0 + n + i] -= c1 * xi
                theta[b0 + U(2) * n + i] -= c2 * xi
                theta[b0 + U(3) * n + i] -= c3 * xi
            r += U(4)


def best_us(fn, args, reps, repeat):
    fn(*args, 1)  # compile
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args, reps)
        best = min(best, time.perf_counter() - t0)
    return best / reps * 1e6


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=100)
    p.add_argument("--inputs", type=int, default=784)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    rows, n = args.rows - args.rows % 4, args.inputs
    print(f"one layer of {rows} x {n} weights; µs per sweep (ratio to the floor)")
    for dtype in (np.float64, np.float32):
        rng = np.random.default_rng(0)
        theta = aligned_copy(rng.random(rows * n).astype(dtype))
        d = aligned_copy((rng.random(rows) * 1e-9).astype(dtype))  # theta stays finite
        x = aligned_copy(rng.random(n).astype(dtype))
        xn = aligned_copy(rng.random(n).astype(dtype))
        z = aligned_copy(np.zeros(rows, dtype))
        reps = max(1, int(2e8 // (rows * n * 8)))
        times = {"floor": best_us(sweep, (theta, d, x), reps, args.repeat)}
        for name, fn in (("fastbp", fastbp_fused), ("fused 1", fused_one),
                         ("fused 2", fused_two), ("update 4", update_four)):
            times[name] = best_us(fn, (theta, d, x, xn, z), reps, args.repeat)
        floor = times["floor"]
        print(f"{np.dtype(dtype).name:8s} " + "  ".join(
            f"{k} {v:.2f} ({v / floor:.2f})" for k, v in times.items()))


if __name__ == "__main__":
    main()
