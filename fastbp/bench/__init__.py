"""Side-by-side speed measurement: fastbp, the NumPy baseline and (when installed) JAX and PyTorch.

Every implementation trains the same network from the same theta on the same rows in the
same order for one epoch of per-example SGD (or mini-batches), and its parameters after the
epoch are compared with fastbp's, so the comparison is of the same computation (peers that
build their own networks, deep-river and fastbp.river, are timed and marked "not checked").
Reported: µs/example, samples/second, each implementation's time relative to fastbp, its
time over the floor (one read-modify-write sweep over a theta-sized array, the memory
traffic of a rank-1 update, timed in the same run) and, for mini-batches, its share of a
single-thread GEMM's floating-point rate.

Used by ``fastbp bench`` (which runs it in a child process with one BLAS/XLA thread) and by
the pytest-benchmark suite in ``benchmarks/``. The peers are optional: a peer that is
not installed is reported as such, never required.
"""
from .cases import CASES, LR, N_CHECK, Case, make_data, make_network
from .command import main
from .costs import (COLD_PATHS, cold_path_times, optimizer_costs, parallel_speedups,
                    startup_times, step_costs)
from .floor import flops_per_example, gemm_peak_flops, gemm_rates, sweep, sweep_seconds
from .peers import IMPLS, SLOW, BaselineImpl, FastbpImpl, Impl, JaxImpl, TorchImpl
from .peers_online import DeepRiverImpl, FastbpRiverImpl, SklearnImpl
from .roofline import roofline_seconds
from .suites import Result, agreement_tolerance, format_table, measure, time_run

__all__ = ["CASES", "LR", "N_CHECK", "Case", "make_data", "make_network", "main",
           "COLD_PATHS", "cold_path_times", "optimizer_costs", "parallel_speedups",
           "startup_times", "step_costs", "IMPLS",
           "SLOW", "BaselineImpl", "FastbpImpl", "Impl", "JaxImpl", "TorchImpl",
           "roofline_seconds", "flops_per_example", "gemm_peak_flops", "gemm_rates", "sweep",
           "sweep_seconds", "SklearnImpl", "DeepRiverImpl", "FastbpRiverImpl", "Result", "agreement_tolerance", "format_table", "measure",
           "time_run"]
