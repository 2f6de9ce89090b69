"""Side-by-side speed measurement: fastbp, the NumPy baseline and (when installed) JAX and PyTorch.

Every implementation trains the same network from the same theta on the same rows in the
same order for one epoch of per-example SGD (or mini-batches), and its parameters after the
epoch are compared with fastbp's, so the comparison is of the same computation. Reported:
µs/example, samples/second, each implementation's time relative to fastbp, and fastbp's
share of the memory roofline (the time to stream theta three times: read in the forward
pass, read and write in the fused backward/update, at the bandwidth measured for a buffer
of theta's size on this machine).

Used by ``fastbp bench`` (which runs it in a child process with one BLAS/XLA thread) and by
the pytest-benchmark suite in ``benchmarks/``. JAX and PyTorch are optional: a peer that is
not installed is reported as such, never required.
"""
from .cases import CASES, LR, N_CHECK, Case, make_data, make_network
from .command import main
from .costs import optimizer_costs, parallel_speedups, startup_times, step_costs
from .peers import IMPLS, SLOW, BaselineImpl, FastbpImpl, Impl, JaxImpl, TorchImpl
from .roofline import roofline_seconds
from .suites import Result, agreement_tolerance, format_table, measure, time_run

__all__ = ["CASES", "LR", "N_CHECK", "Case", "make_data", "make_network", "main",
           "optimizer_costs", "parallel_speedups", "startup_times", "step_costs", "IMPLS",
           "SLOW", "BaselineImpl", "FastbpImpl", "Impl", "JaxImpl", "TorchImpl",
           "roofline_seconds", "Result", "agreement_tolerance", "format_table", "measure",
           "time_run"]
