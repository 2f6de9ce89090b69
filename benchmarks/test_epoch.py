"""One epoch of SGD: fastbp against the NumPy baseline, same data, same order, same theta.

Run: python -m pytest benchmarks  (not part of the default test run)
"""
import numpy as np
import pytest

import fastbp
from fastbp import baseline as B

from conftest import record

CASES = {"small 64-32-10": [64, 32, 10], "medium 784-100-10": [784, 100, 10]}
N_FAST = 4000
N_BASE = {"small 64-32-10": 1000, "medium 784-100-10": 300}


def setup(sizes, dtype, n):
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0])).astype(dtype)
    Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    net = fastbp.Network(sizes, hidden="sigmoid", output="softmax", dtype=dtype, seed=0)
    order = rng.permutation(n)
    return net, X, Y, order


@pytest.mark.parametrize("batch_size", [1, 32])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("impl", ["fastbp", "baseline"])
def test_epoch(benchmark, impl, case, dtype, batch_size):
    sizes = CASES[case]
    n = N_FAST if impl == "fastbp" else N_BASE[case]
    net, X, Y, order = setup(sizes, dtype, n)
    lr, l2 = net.dtype.type(0.1), net.dtype.type(0.0)
    theta0 = net.theta.copy()
    if impl == "fastbp":
        ws = net.workspace()

        def run():
            net.theta[:] = theta0
            fastbp.kernels.epoch(net.theta, net.spec, ws, X, Y, order, lr, l2, batch_size)
    else:
        def run():
            net.theta[:] = theta0
            B.epoch(net.theta, net.layout, X, Y, order, lr, l2, batch_size)

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    record(benchmark, f"{case} {dtype} batch {batch_size}", impl, n)
