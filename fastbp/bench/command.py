"""``fastbp bench``: the command line (run in a child process with single-threaded BLAS/XLA)."""
import os
from contextlib import contextmanager

import numpy as np

from .cases import CASES
from .costs import optimizer_costs, parallel_speedups, startup_times, step_costs
from .peers import IMPLS
from .suites import format_table, gemm_rates_once, measure

PEER_NAMES = [i.name for i in IMPLS if i.name != "fastbp"]


def main(argv=None):
    """Entry of ``fastbp bench`` (in a child process with single-threaded BLAS/XLA)."""
    import argparse
    import platform

    p = argparse.ArgumentParser(prog="fastbp bench")
    p.add_argument("--sizes", default="tiny,small,medium,large")
    p.add_argument("--dtype", default="both", choices=["float64", "float32", "both"])
    p.add_argument("--batch-size", default="1", help="comma-separated, e.g. 1,32")
    p.add_argument("--quick", action="store_true", help="fewer rows and repeats (~10x faster)")
    p.add_argument("--peers", default=",".join(PEER_NAMES),
                   help="implementations besides fastbp (comma-separated; '' for none)")
    p.add_argument("--startup", action="store_true",
                   help="also time import, first fit, and the first use of each further path")
    p.add_argument("--parallel", action="store_true",
                   help="also time Python threads, populations and Hogwild on 2 threads, and "
                        "the cost of one sgd_step from user @njit code and from Python")
    p.add_argument("--optimizers", action="store_true",
                   help="also time momentum, Nesterov, Adam and dropout against plain SGD")
    args = p.parse_args(argv)
    names = [s for s in args.sizes.split(",") if s]
    for s in names:
        if s not in CASES:
            p.error(f"--sizes: unknown case {s!r}; choose from {', '.join(CASES)}")
    dtypes = ["float64", "float32"] if args.dtype == "both" else [args.dtype]
    try:
        batches = [int(b) for b in args.batch_size.split(",")]
    except ValueError:
        p.error(f"--batch-size must be comma-separated integers, got {args.batch_size!r}")
    if any(b < 1 for b in batches):
        p.error(f"--batch-size values must be >= 1, got {args.batch_size!r}")
    peers = {s for s in args.peers.split(",") if s}
    unknown = peers - set(PEER_NAMES)
    if unknown:
        p.error(f"--peers: unknown {sorted(unknown)}; choose from {', '.join(PEER_NAMES)}")
    impls = [i for i in IMPLS if i.name == "fastbp" or i.name in peers]
    print(f"fastbp bench on {platform.machine()} {platform.processor() or ''} "
          f"({os.cpu_count()} logical CPUs), Python {platform.python_version()}, "
          f"NumPy {np.__version__}; one thread per implementation", flush=True)
    results = []
    with one_cpu() as cpu:
        if cpu is not None:
            print(f"  pinned to CPU {cpu} while the implementations are timed", flush=True)
        for name in names:
            for dtype in dtypes:
                for bs in batches:
                    results += measure(name, dtype, bs, impls, repeat=3 if args.quick else 5,
                                       quick=args.quick)
                    print(f"  measured {name} {dtype} batch {bs}", flush=True)
    print()
    print(format_table(results))
    if any(b > 1 for b in batches):
        print()
        print("% of GEMM peak: against the fastest single-thread n=512 matrix product here: " +
              "; ".join(f"{dt} " + ", ".join(f"{lib} {rate / 1e9:.0f}"
                                             for lib, rate in gemm_rates_once(dt).items())
                        + " GFLOP/s" for dt in dtypes))
    if args.optimizers:
        for name in names:
            for dtype in dtypes:
                costs = optimizer_costs(name, dtype, n=CASES[name].n // (10 if args.quick else 2))
                sgd = costs["sgd"]
                print()
                print(f"optimisers, {name} {'-'.join(map(str, CASES[name].sizes))} {dtype}, "
                      f"per-example: " + ", ".join(f"{k} {v:.3f} µs ({v / sgd:.2f}x)"
                                                  for k, v in costs.items()))
    if args.parallel:
        for name in names:
            for dtype in dtypes:
                sp = parallel_speedups(name, dtype, n=max(2000, CASES[name].n // (20 if args.quick
                                                                                  else 4)))
                print()
                print(f"parallel, {name} {dtype}, k = {sp['k']}, one epoch of {sp['rows']} rows: "
                      f"k networks one after another {sp['sequential_s']:.3f} s, from k Python "
                      f"threads {sp['threads_s']:.3f} s ({sp['threads_speedup']:.2f}x), as a "
                      f"population {sp['population_s']:.3f} s ({sp['population_speedup']:.2f}x); "
                      f"Hogwild {sp['hogwild_s']:.3f} s vs serial {sp['serial_s']:.3f} s "
                      f"({sp['hogwild_speedup']:.2f}x)")
        for dtype in dtypes:
            sc = step_costs("tiny", dtype, n=20000 if args.quick else 200_000)
            print(f"one sgd_step on tiny {dtype}: from user @njit code {sc['njit_us']:.3f} µs, "
                  f"kernels.sgd_step from Python {sc['kernel_from_python_us']:.2f} µs, "
                  f"Network.partial_fit from Python {sc['partial_fit_us']:.2f} µs")
    if args.startup:
        st = startup_times()
        print()
        print(f"import fastbp: {st['import_s']:.3f} s; first fit in a fresh process: "
              f"{st['first_fit_cold_cache_s']:.2f} s with an empty numba cache, "
              f"{st['first_fit_warm_cache_s']:.3f} s with a warm cache")
        print("first use of each path, one after the other in a fresh process with an empty "
              "cache (s): " + "; ".join(f"{k} {v:.2f}" for k, v in st["cold_paths"].items()))
    return 0


@contextmanager
def one_cpu():
    """Runs the block with this thread (and the threads created meanwhile, which inherit
    it) on one CPU of its current affinity mask, the highest-numbered; yields that CPU, or
    None where affinity cannot be set or is already one CPU.

    JAX's CPU runtime keeps a pool of one thread per core whatever ``XLA_FLAGS`` say
    (``--xla_cpu_multi_thread_eigen=false`` and ``intra_op_parallelism_threads=1`` both
    measured: a 1024 x 1024 float64 product took 0.34 s of CPU time in 0.17 s of wall time
    on 2 cores); a CPU mask is what limits it (JAX issues 743, 1539). The mask is restored
    after the block, so ``--parallel`` (timed afterwards, on threads numba creates then)
    still gets every CPU."""
    getter, setter = getattr(os, "sched_getaffinity", None), getattr(os, "sched_setaffinity", None)
    mask = getter(0) if getter else set()
    if setter is None or len(mask) < 2:
        yield None
        return
    cpu = max(mask)
    setter(0, {cpu})
    try:
        yield cpu
    finally:
        setter(0, mask)
