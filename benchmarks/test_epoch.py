"""One epoch of SGD: fastbp against the NumPy baseline, JAX and PyTorch (when installed).

Same network, same theta, same rows in the same order for every implementation; each
peer's parameters after a short epoch must match fastbp's (so the times compare the same
computation). Run with one thread per library, e.g.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 XLA_FLAGS=--xla_cpu_multi_thread_eigen=false \\
        python -m pytest benchmarks

(``fastbp bench`` sets those for you and prints the same comparison as a table.)
"""
import numpy as np
import pytest

from fastbp import bench

from conftest import record

IMPLS = {impl.name: impl for impl in bench.IMPLS}


@pytest.mark.parametrize("batch_size", [1, 32])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case_name", list(bench.CASES))
@pytest.mark.parametrize("impl_name", list(IMPLS))
def test_epoch(benchmark, impl_name, case_name, dtype, batch_size):
    impl = IMPLS[impl_name]
    ok, why = impl.available()
    if not ok:
        pytest.skip(f"{impl_name}: {why}")
    case = bench.CASES[case_name]
    n = case.n_slow if impl_name in bench.SLOW else case.n
    n = max(n // batch_size * batch_size, batch_size)
    net = bench.make_network(case, dtype)
    theta0 = net.theta.copy()
    X, Y, order = bench.make_data(case, dtype, n)

    # honesty check: a short epoch gives the same parameters as fastbp's
    rows = order[:bench.N_CHECK // batch_size * batch_size or batch_size]
    ref = bench.FastbpImpl().prepare(case, net, X, Y, rows, batch_size)(theta0).copy()
    got = impl.prepare(case, net, X, Y, rows, batch_size)(theta0)
    diff = float(np.abs(np.asarray(got, dtype=np.float64) - ref).max())
    assert diff <= bench.agreement_tolerance(dtype), f"{impl_name} disagrees with fastbp: {diff}"

    run = impl.prepare(case, net, X, Y, order, batch_size)
    benchmark.pedantic(run, args=(theta0,), rounds=5 if impl_name not in bench.SLOW else 2,
                       warmup_rounds=1)
    benchmark.extra_info["max_abs_param_diff_vs_fastbp"] = diff
    record(benchmark, f"{case_name} {'-'.join(map(str, case.sizes))} {dtype} batch {batch_size}",
           impl_name, n)
