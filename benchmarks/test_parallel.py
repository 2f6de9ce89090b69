"""Parallel training on this machine's cores and the cost of one step from user @njit code.

python -m pytest benchmarks/test_parallel.py   (figures in the benchmark's extra_info)
"""
import threading

import pytest

import fastbp
from fastbp import bench

CASE = bench.CASES["small"]
N = 10000
K = 2


@pytest.fixture(scope="module")
def data():
    X, Y, _ = bench.make_data(CASE, "float64", N)
    return X, Y


def nets(k=K):
    return [fastbp.Network(list(CASE.sizes), output=CASE.output, seed=s) for s in range(k)]


@pytest.mark.parametrize("mode", ["sequential", "python_threads", "population"])
def test_k_networks(benchmark, data, mode):
    X, Y = data
    if mode == "population":
        pop = fastbp.Population(list(CASE.sizes), K, output=CASE.output)
        benchmark.pedantic(lambda: pop.fit(X, Y, epochs=1, lr=0.1, n_threads=K), rounds=5,
                           warmup_rounds=1)
        return
    ms = nets()

    def run():
        if mode == "sequential":
            for m in ms:
                m.fit(X, Y, epochs=1, lr=0.1)
        else:
            ts = [threading.Thread(target=m.fit, args=(X, Y), kwargs=dict(epochs=1, lr=0.1))
                  for m in ms]
            for t in ts:
                t.start()
            for t in ts:
                t.join()

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    if benchmark.stats is not None:  # None under --benchmark-disable
        benchmark.extra_info["examples_per_second"] = K * N / benchmark.stats.stats.min


@pytest.mark.parametrize("n_threads", [1, K])
def test_hogwild(benchmark, data, n_threads):
    X, Y = data
    net = nets(1)[0]
    benchmark.pedantic(lambda: net.fit(X, Y, epochs=1, lr=0.1, n_threads=n_threads), rounds=5,
                       warmup_rounds=1)


def test_sgd_step_costs(benchmark):
    costs = benchmark.pedantic(lambda: bench.step_costs("tiny", "float64", n=50_000), rounds=1)
    benchmark.extra_info.update(costs)
    assert set(costs) == {"njit_us", "kernel_from_python_us", "partial_fit_us"}
