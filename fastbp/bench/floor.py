"""The floors fastbp is measured against: one read-modify-write sweep over theta (per
example) and a single-thread GEMM's floating-point rate (mini-batches)."""
import math
import time

import numpy as np

from .._jit import jit


@jit
def sweep(theta, d, x, reps):
    """``reps`` times: theta viewed as rows of len(x), row r -= d[r] * x (a rank-1 update:
    every weight read and written once, x stays in cache). The stores go to an array the
    caller owns, so the compiler cannot remove them. The tail (theta's size need not be a
    multiple of len(x)) gets the same update with the first entries of x."""
    n = x.shape[0]
    rows = theta.shape[0] // n
    for _ in range(reps):
        for r in range(rows):
            c = d[r]
            base = r * n
            for j in range(n):
                theta[base + j] -= c * x[j]
        c = d[rows]
        for k in range(rows * n, theta.shape[0]):
            theta[k] -= c * x[k - rows * n]


def sweep_inputs(n_params, n_in, dtype, seed=0):
    """theta, d and x for ``sweep``: small values so that theta stays finite over any reps."""
    rng = np.random.default_rng(seed)
    theta = rng.random(n_params).astype(dtype)
    d = (rng.random(n_params // n_in + 1) * 1e-9).astype(dtype)
    x = rng.random(n_in).astype(dtype)
    return theta, d, x


def sweep_seconds(n_params, n_in, dtype, min_time=0.05, repeat=3):
    """Seconds for one sweep over a theta of n_params entries in rows of n_in (best of
    ``repeat`` timings of enough reps to last ``min_time``)."""
    theta, d, x = sweep_inputs(n_params, n_in, dtype)
    sweep(theta, d, x, 1)
    reps = 1
    while True:
        t0 = time.perf_counter()
        sweep(theta, d, x, reps)
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        reps *= 4
    best = dt
    for _ in range(repeat):
        t0 = time.perf_counter()
        sweep(theta, d, x, reps)
        best = min(best, time.perf_counter() - t0)
    return best / reps


def gemm_peak_flops(dtype, n=512, repeat=5):
    """Floating-point operations per second of one n x n @ n x n product in NumPy's BLAS on
    one thread (best of ``repeat``): 2 n^3 flops."""
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:  # fastbp bench's child process sets the BLAS thread variables too
        limit = nullcontext()
    rng = np.random.default_rng(0)
    a, b = (rng.random((n, n)).astype(dtype) for _ in range(2))
    out = np.empty((n, n), dtype)
    with limit:
        np.matmul(a, b, out=out)
        best = math.inf
        for _ in range(repeat):
            t0 = time.perf_counter()
            np.matmul(a, b, out=out)
            best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best


def flops_per_example(sizes):
    """Multiply-adds x 2 of one example's mini-batch SGD: forward W a (2 per weight), the
    gradient delta a^T (2 per weight) and the deltas W^T delta of every layer but the first
    (2 per weight of layers 2..L); activations, loss and the update itself are not counted."""
    weights = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(weights) + 2 * sum(weights) + 2 * sum(weights[1:])
