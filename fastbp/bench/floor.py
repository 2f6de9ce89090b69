"""The floors fastbp is measured against: one read-modify-write sweep over theta (per
example) and a single-thread GEMM's floating-point rate (mini-batches)."""
import math
import time

import numpy as np

from .._jit import jit
from ..layout import aligned_copy


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
    # each on a cache line (layout.ALIGN), as fastbp's theta: from NumPy's 16-byte offsets
    # the sweep's time depended on where x happened to land (64-32-10 float64 0.124 or
    # 0.175 µs, alternating from one call to the next)
    theta = aligned_copy(rng.random(n_params).astype(dtype))
    d = aligned_copy((rng.random(n_params // n_in + 1) * 1e-9).astype(dtype))
    x = aligned_copy(rng.random(n_in).astype(dtype))
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


def gemm_rates(dtype, n=512, repeat=5, libraries=("numpy", "jax", "torch")):
    """{library: floating-point operations per second} of one n x n @ n x n product on one
    thread (2 n^3 flops, best of ``repeat``) in NumPy's BLAS, XLA (JAX) and PyTorch, each
    where installed.

    NumPy's BLAS alone is not this core's peak: the OpenBLAS wheels run their AVX2
    (Haswell) kernels on AMD Zen 5, and on this project's Zen 5 machine they reached 67 /
    139 GFLOP/s (float64 / float32) against XLA's 135 / 275 with 512-bit vectors (n 512
    and 1024, one pinned core), so fastbp's mini-batches showed 111-128% of "the peak"."""
    dtype = np.dtype(dtype)
    rng = np.random.default_rng(0)
    a, b = (rng.random((n, n)).astype(dtype) for _ in range(2))
    rates = {}
    for name in libraries:
        try:
            best = _PRODUCTS[name](a, b, repeat)
        except Exception:  # not installed, or broken: the others still give the peak
            continue
        rates[name] = 2.0 * n ** 3 / best
    return rates


def best_time(fn, repeat):
    """Seconds of the fastest of ``repeat`` calls of ``fn`` after one warm-up call."""
    fn()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def gemm_peak_flops(dtype, n=512, repeat=5):
    """The single-thread GEMM peak: the fastest of ``gemm_rates``."""
    return max(gemm_rates(dtype, n, repeat).values())


def _numpy_product(a, b, repeat):
    from contextlib import nullcontext

    try:
        from threadpoolctl import threadpool_limits
        limit = threadpool_limits(1)
    except ImportError:  # fastbp bench's child process sets the BLAS thread variables too
        limit = nullcontext()
    out = np.empty_like(a)
    with limit:
        return best_time(lambda: np.matmul(a, b, out=out), repeat)


def _jax_product(a, b, repeat):
    import jax  # one thread: fastbp bench's child process sets XLA_FLAGS

    if a.dtype == np.float64 and not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)  # as the bench's JAX peer does
    f = jax.jit(lambda x, y: x @ y)
    x, y = jax.device_put(a), jax.device_put(b)
    return best_time(lambda: f(x, y).block_until_ready(), repeat)


def _torch_product(a, b, repeat):
    import torch

    torch.set_num_threads(1)  # as the bench's PyTorch peer does
    x, y = torch.from_numpy(a), torch.from_numpy(b)
    out = torch.empty_like(x)
    return best_time(lambda: torch.matmul(x, y, out=out), repeat)


_PRODUCTS = {"numpy": _numpy_product, "jax": _jax_product, "torch": _torch_product}


def flops_per_example(sizes):
    """Multiply-adds x 2 of one example's mini-batch SGD: forward W a (2 per weight), the
    gradient delta a^T (2 per weight) and the deltas W^T delta of every layer but the first
    (2 per weight of layers 2..L); activations, loss and the update itself are not counted."""
    weights = [a * b for a, b in zip(sizes[:-1], sizes[1:])]
    return 2 * sum(weights) + 2 * sum(weights) + 2 * sum(weights[1:])
