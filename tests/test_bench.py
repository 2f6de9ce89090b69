"""The benchmark harness measures the same computation in every implementation (no timing
assertions here: speed is reported by ``fastbp bench`` and ``benchmarks/``)."""
import math

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
    assert [r.impl for r in results] == ["fastbp", "numpy", "jax", "pytorch"]
    fast, base = results[0], results[1]
    assert fast.us_per_example > 0 and base.us_per_example > 0
    assert base.max_abs_diff <= bench.agreement_tolerance("float32")
    for r in results[2:]:  # optional peers: measured and in agreement, or said to be missing
        assert (r.note and math.isnan(r.us_per_example)) or \
            r.max_abs_diff <= bench.agreement_tolerance("float32")
    table = bench.format_table(results)
    assert "| tiny 2-4-1 | float32 | 1 | fastbp |" in table and "reference" in table


def test_roofline_is_positive_and_grows_with_size():
    small = bench.roofline_seconds(1000, np.float64, min_time=0.01)
    big = bench.roofline_seconds(100_000, np.float64, min_time=0.01)
    assert 0 < small < big


def test_bench_command_runs(capfd):
    from fastbp.cli import main

    rc = main(["bench", "--sizes", "tiny", "--dtype", "float64", "--quick", "--peers", "numpy"])
    out = capfd.readouterr().out
    assert rc == 0
    assert "| tiny 2-4-1 | float64 | 1 | fastbp |" in out and "| numpy |" in out


def test_bench_command_rejects_unknown_case(capfd):
    from fastbp.cli import main

    assert main(["bench", "--sizes", "huge"]) != 0
    assert "unknown case 'huge'" in capfd.readouterr().err
