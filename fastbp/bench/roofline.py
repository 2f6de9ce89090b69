"""The memory roofline: the time to stream a theta-sized buffer as one example's SGD does."""
import time

import numpy as np

from .._jit import cast_like, jit


@jit
def _stream(theta, reps):
    """Per rep: one read pass and one read-modify-write pass over theta (3 x its bytes),
    the memory traffic of one example (forward reads W, the fused backward reads and
    writes it)."""
    s = 0.0
    c = cast_like(theta, 1.0 - 1e-7)
    for r in range(reps):
        t = cast_like(theta, 0.0)
        for k in range(theta.shape[0]):
            t += theta[k]
        s += t
        for k in range(theta.shape[0]):
            theta[k] = theta[k] * c
    return s


def roofline_seconds(n_params, dtype, min_time=0.05):
    """Seconds to stream a theta-sized buffer 3 times (the kernels' memory traffic per example)."""
    theta = np.random.default_rng(0).random(n_params).astype(dtype)
    _stream(theta, 1)
    reps = 1
    while True:
        t0 = time.perf_counter()
        _stream(theta, reps)
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        reps *= 4
    best = dt
    for _ in range(3):
        t0 = time.perf_counter()
        _stream(theta, reps)
        best = min(best, time.perf_counter() - t0)
    return best / reps
