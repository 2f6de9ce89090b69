"""The benchmark harness measures the same computation in every implementation (no timing
assertions here: speed is reported by ``fastbp bench`` and ``benchmarks/``)."""
import math
import os

import numpy as np
import pytest

from fastbp import bench


@pytest.mark.parametrize("case_name", list(bench.CASES))
def test_baseline_matches_fastbp_on_every_benchmark_case(case_name):
    case = bench.CASES[case_name]
    net = bench.make_network(case, "float64")
    X, Y, order = bench.make_data(case, "float64", 8)
    theta0 = net.theta.copy()
    for batch_size in (1, 4):
        fast = bench.FastbpImpl().prepare(case, net, X, Y, order, batch_size)(theta0).copy()
        base = bench.BaselineImpl().prepare(case, net, X, Y, order, batch_size)(theta0)
        assert np.abs(fast - theta0).max() > 0
        assert np.abs(fast - base).max() <= bench.agreement_tolerance("float64")


def test_measure_reports_every_implementation():
    results = bench.measure("tiny", "float32", 1, repeat=1, quick=True)
    assert [r.impl for r in results] == ["fastbp", "numpy", "jax", "pytorch", "scikit-learn",
                                         "deep-river", "fastbp.river"]
    fast, base = results[0], results[1]
    assert fast.us_per_example > 0 and base.us_per_example > 0
    assert base.max_abs_diff <= bench.agreement_tolerance("float32")
    for r in results[2:]:  # optional peers: measured and in agreement, or said why not
        assert (r.note and math.isnan(r.us_per_example)) or r.note == "not checked" or \
            r.max_abs_diff <= bench.agreement_tolerance("float32")
    table = bench.format_table(results)
    assert "| tiny 2-4-1 | float32 | 1 | fastbp |" in table and "reference" in table
    assert "time / floor" in table and "% of GEMM peak" in table
    assert fast.extra["floor_us"] > 0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("n_params, n_in", [(97, 8), (64, 8), (5, 8)])
def test_floor_sweep_is_a_rank1_update(n_params, n_in, dtype):
    theta, d, x = bench.floor.sweep_inputs(n_params, n_in, np.dtype(dtype), seed=1)
    d = d * 1e9  # values of order 1, so that the update is visible
    expect = theta.astype(np.float64)
    for _ in range(3):
        rows = n_params // n_in
        w = expect[:rows * n_in].reshape(rows, n_in)
        w -= np.outer(d[:rows], x)
        expect[rows * n_in:] -= d[rows] * x[:n_params - rows * n_in]
    bench.sweep(theta, d, x, 3)
    assert np.abs(theta - expect).max() <= (1e-12 if dtype == "float64" else 1e-4)


def test_flops_per_example_counts_forward_gradient_and_deltas():
    # 784-100-10: weights 78400 + 1000; deltas skip the first layer
    assert bench.flops_per_example((784, 100, 10)) == 4 * 79400 + 2 * 1000
    rates = bench.gemm_rates(np.float64, n=64, repeat=1)
    assert rates["numpy"] > 0 and all(r > 0 for r in rates.values())
    assert bench.gemm_peak_flops(np.float64, n=64, repeat=1) > 0


def test_the_gemm_peak_is_the_fastest_library(monkeypatch):
    from fastbp.bench import floor

    times = {"numpy": 2.0, "jax": 1.0, "torch": 4.0}
    monkeypatch.setattr(floor, "_PRODUCTS", {k: (lambda a, b, r, t=t: t) for k, t in times.items()})
    rates = floor.gemm_rates(np.float32, n=10)
    assert rates == {k: 2000.0 / t for k, t in times.items()}
    assert floor.gemm_peak_flops(np.float32, n=10) == 2000.0


@pytest.mark.parametrize("impl, module", [("jax", "jax"), ("pytorch", "torch"),
                                          ("scikit-learn", "sklearn")])
@pytest.mark.parametrize("batch_size", [1, 4])
def test_checked_peers_agree_with_fastbp(impl, module, batch_size):
    pytest.importorskip(module)
    case = bench.CASES["small"]
    for dtype in ("float64", "float32"):
        net = bench.make_network(case, dtype)
        X, Y, order = bench.make_data(case, dtype, 16)
        theta0 = net.theta.copy()
        fast = bench.FastbpImpl().prepare(case, net, X, Y, order, batch_size)(theta0).copy()
        peer = next(i for i in bench.IMPLS if i.name == impl)
        got = peer.prepare(case, net, X, Y, order, batch_size)(theta0)
        assert np.abs(fast - theta0).max() > 1e-3
        assert np.abs(np.asarray(got, np.float64) - fast).max() <= bench.agreement_tolerance(dtype)


def test_sklearn_peer_says_why_it_cannot_run_tiny():
    pytest.importorskip("sklearn")
    results = bench.measure("tiny", "float64", 1, impls=[bench.FastbpImpl(), bench.SklearnImpl()],
                            repeat=1, quick=True)
    assert "sigmoid output" in results[1].note and math.isnan(results[1].us_per_example)


def test_fastbp_river_peer_is_timed_not_checked():
    pytest.importorskip("river")
    results = bench.measure("small", "float64", 1, repeat=1, quick=True,
                            impls=[bench.FastbpImpl(), bench.FastbpRiverImpl()])
    assert results[1].note == "not checked" and results[1].us_per_example > 0
    assert "| fastbp.river |" in bench.format_table(results)


def test_roofline_is_positive_and_grows_with_size():
    small = bench.roofline_seconds(1000, np.float64, min_time=0.01)
    big = bench.roofline_seconds(100_000, np.float64, min_time=0.01)
    assert 0 < small < big


def test_bench_command_runs(capfd):
    from fastbp.cli import main

    rc = main(["bench", "--sizes", "tiny", "--dtype", "float64", "--quick", "--peers", "numpy",
               "--batch-size", "1,4"])
    out = capfd.readouterr().out
    assert rc == 0
    assert "| tiny 2-4-1 | float64 | 1 | fastbp |" in out and "| numpy |" in out


def test_cold_path_times_runs_each_path_in_order_in_one_fresh_process():
    # the cold-start figures of `fastbp bench --startup`: each path's seconds, in order,
    # from one child process with an empty numba cache (state carries from path to path)
    paths = (("predict", "p = net().predict(X)"), ("shape", "assert p.shape == (20, 1)"))
    times = bench.cold_path_times(paths)
    assert list(times) == ["predict", "shape"]
    assert all(isinstance(t, float) and t > 0 for t in times.values())
    assert [label for label, _ in bench.COLD_PATHS][:2] == ["plain SGD", "batch_size=32"]
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        bench.cold_path_times((("bad", "1 / 0"),))


def test_bench_command_rejects_unknown_case(capfd):
    from fastbp.cli import main

    assert main(["bench", "--sizes", "huge"]) != 0
    assert "unknown case 'huge'" in capfd.readouterr().err


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no CPU affinity here")
def test_one_cpu_pins_the_timed_block_and_restores_the_mask():
    from fastbp.bench.command import one_cpu

    before = os.sched_getaffinity(0)
    with one_cpu() as cpu:
        inside = os.sched_getaffinity(0)
    assert os.sched_getaffinity(0) == before
    if len(before) > 1:
        assert cpu == max(before) and inside == {cpu}
    else:
        assert cpu is None and inside == before
