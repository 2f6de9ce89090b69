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
import math
import os
import time
from dataclasses import dataclass, field

import numpy as np

from . import baseline as B
from ._jit import jit
from .kernels import cast_like
from .network import Network


@dataclass(frozen=True)
class Case:
    name: str
    sizes: tuple
    output: str
    loss: str
    n: int  # rows timed for fastbp and JAX (fast implementations)
    n_slow: int  # rows timed for the baseline and PyTorch


CASES = {
    "tiny": Case("tiny", (2, 4, 1), "sigmoid", "mse", 200_000, 4000),
    "small": Case("small", (64, 32, 10), "softmax", "cross_entropy", 40_000, 3000),
    "medium": Case("medium", (784, 100, 10), "softmax", "cross_entropy", 4000, 600),
    "large": Case("large", (784, 512, 512, 10), "softmax", "cross_entropy", 400, 100),
}
LR = 0.1
N_CHECK = 64  # rows of the parameter-agreement check


def make_data(case, dtype, n, seed=0):
    """Seeded inputs in [0, 1) and targets for ``case``, and the order to visit them.

    The rows are stored already shuffled and visited in storage order, the same for every
    implementation: a random gather over a large X would otherwise time cache misses in
    fastbp's loop that the JAX version (which scans pre-gathered arrays) does not pay.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n, case.sizes[0])).astype(dtype)
    if case.output == "softmax":
        Y = np.eye(case.sizes[-1], dtype=dtype)[rng.integers(0, case.sizes[-1], n)]
    else:  # a noisy XOR of the first two inputs
        Y = ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)).astype(dtype)[:, None]
    perm = rng.permutation(n)
    return np.ascontiguousarray(X[perm]), np.ascontiguousarray(Y[perm]), np.arange(n)


def make_network(case, dtype, seed=0):
    return Network(list(case.sizes), hidden="sigmoid", output=case.output, loss=case.loss,
                   dtype=dtype, seed=seed)


# ---------------------------------------------------------------------------- implementations
class Impl:
    """An implementation: ``prepare`` builds state for (X, Y, order); ``run`` trains one epoch
    from theta0 and returns the final flat theta (in fastbp's layout)."""

    name = "?"

    def available(self):
        return True, ""


class FastbpImpl(Impl):
    name = "fastbp"

    def prepare(self, case, net, X, Y, order, batch_size):
        ws = net.workspace()
        theta = net.theta.copy()
        lr, l2 = net.dtype.type(LR), net.dtype.type(0.0)
        spec = net.spec
        from . import kernels

        units = net.layout.batch_units(batch_size, net.dtype) if batch_size > 1 else None

        def run(theta0):  # the kernels Network.fit calls for plain SGD
            theta[:] = theta0
            if batch_size > 1:
                kernels.epoch_batched(theta, spec, ws, units, X, Y, order, lr, l2, batch_size)
            else:
                kernels.epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size)
            return theta

        return run


class BaselineImpl(Impl):
    name = "numpy"

    def prepare(self, case, net, X, Y, order, batch_size):
        theta = net.theta.copy()
        lr = net.dtype.type(LR)

        def run(theta0):
            theta[:] = theta0
            B.epoch(theta, net.layout, X, Y, order, lr, 0.0, batch_size)
            return theta

        return run


class JaxImpl(Impl):
    """``jax.jit`` of a ``lax.scan`` over the epoch, one update per example (or per batch)."""

    name = "jax"

    def available(self):
        try:
            import jax  # noqa: F401
        except Exception as exc:  # ImportError or a broken install
            return False, f"not installed ({type(exc).__name__})"
        return True, ""

    def prepare(self, case, net, X, Y, order, batch_size):
        import jax
        import jax.numpy as jnp

        if net.dtype == np.float64:
            jax.config.update("jax_enable_x64", True)

        def forward_cost(params, x, y):
            # x, y: one example (vectors) or a mini-batch (rows); mean cost over the rows
            a = x
            for W, b in params[:-1]:
                a = jax.nn.sigmoid(a @ W.T + b)
            W, b = params[-1]
            z = a @ W.T + b
            if case.output == "softmax":
                cost = jnp.sum(y * (jax.nn.logsumexp(z, axis=-1, keepdims=True) - z), axis=-1)
            else:
                cost = 0.5 * jnp.sum((jax.nn.sigmoid(z) - y) ** 2, axis=-1)
            return jnp.mean(cost)

        lr = net.dtype.type(LR)
        grad = jax.grad(forward_cost)
        n = order.shape[0]

        def step(params, xy):
            g = grad(params, xy[0], xy[1])
            return jax.tree_util.tree_map(lambda p, q: p - lr * q, params, g), None

        if batch_size == 1:
            Xs, Ys = X[order], Y[order]
        else:
            m = n // batch_size * batch_size
            rows = order[:m]
            Xs = X[rows].reshape(m // batch_size, batch_size, -1)
            Ys = Y[rows].reshape(m // batch_size, batch_size, -1)

        epoch = jax.jit(lambda params, Xs, Ys: jax.lax.scan(step, params, (Xs, Ys))[0])
        Xs, Ys = jnp.asarray(Xs), jnp.asarray(Ys)
        layout = net.layout

        def run(theta0):
            params = [(jnp.asarray(W), jnp.asarray(b))
                      for W, b in zip(layout.weights(theta0), layout.biases(theta0))]
            params = epoch(params, Xs, Ys)
            params = jax.block_until_ready(params)
            return layout.unroll([np.asarray(W) for W, _ in params],
                                 [np.asarray(b) for _, b in params], dtype=net.dtype)

        return run


class TorchImpl(Impl):
    """PyTorch eager mode, one thread, a Python loop with one backward() per example."""

    name = "pytorch"

    def available(self):
        try:
            import torch  # noqa: F401
        except Exception as exc:
            return False, f"not installed ({type(exc).__name__})"
        return True, ""

    def prepare(self, case, net, X, Y, order, batch_size):
        import torch

        torch.set_num_threads(1)
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        layout = net.layout
        lr = float(LR)

        def run(theta0):
            Ws = [torch.tensor(W, requires_grad=True) for W in layout.weights(theta0)]
            bs = [torch.tensor(b, requires_grad=True) for b in layout.biases(theta0)]
            for start in range(0, order.shape[0], batch_size):
                rows = torch.from_numpy(order[start:start + batch_size])
                x, y = Xt[rows], Yt[rows]  # (m, n_in): a batch of one in per-example mode
                a = x
                for W, b in zip(Ws[:-1], bs[:-1]):
                    a = torch.sigmoid(a @ W.T + b)
                z = a @ Ws[-1].T + bs[-1]
                if case.output == "softmax":
                    cost = -(y * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
                else:
                    cost = 0.5 * ((torch.sigmoid(z) - y) ** 2).sum(dim=1).mean()
                cost.backward()
                with torch.no_grad():
                    for p in Ws + bs:
                        p -= lr * p.grad
                        p.grad = None
            return layout.unroll([W.detach().numpy() for W in Ws],
                                 [b.detach().numpy() for b in bs], dtype=net.dtype)

        return run


IMPLS = [FastbpImpl(), BaselineImpl(), JaxImpl(), TorchImpl()]
SLOW = {"numpy", "pytorch"}


# ---------------------------------------------------------------------------- roofline
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


# ---------------------------------------------------------------------------- measurement
@dataclass
class Result:
    case: str
    dtype: str
    batch_size: int
    impl: str
    us_per_example: float = math.nan
    samples_per_second: float = math.nan
    max_abs_diff: float = math.nan  # parameters after N_CHECK rows vs fastbp's
    note: str = ""
    extra: dict = field(default_factory=dict)


def time_run(run, theta0, n_rows, repeat):
    run(theta0)  # warm-up: compilation, caches
    best = math.inf
    for i in range(repeat):
        t0 = time.perf_counter()
        run(theta0)
        best = min(best, time.perf_counter() - t0)
    return best / n_rows


def measure(case_name, dtype="float64", batch_size=1, impls=None, repeat=5, quick=False):
    """Results for every implementation on one case; fastbp first."""
    case = CASES[case_name]
    impls = impls or IMPLS
    n_fast = case.n // (10 if quick else 1)
    n_slow = max(case.n_slow // (5 if quick else 1), 2 * batch_size)
    n_fast = max(n_fast // max(batch_size, 1) * max(batch_size, 1), batch_size)
    n_slow = n_slow // batch_size * batch_size
    net = make_network(case, dtype)
    theta0 = net.theta.copy()
    X, Y, order = make_data(case, dtype, n_fast)
    n_check = N_CHECK if batch_size == 1 else N_CHECK // batch_size * batch_size or batch_size
    check_order = order[:n_check]
    ref = FastbpImpl().prepare(case, net, X, Y, check_order, batch_size)(theta0).copy()
    results = []
    for impl in impls:
        res = Result(case_name, dtype, batch_size, impl.name)
        ok, why = impl.available()
        if not ok:
            res.note = why
            results.append(res)
            continue
        n = n_slow if impl.name in SLOW else n_fast
        try:
            got = impl.prepare(case, net, X, Y, check_order, batch_size)(theta0)
            res.max_abs_diff = float(np.abs(np.asarray(got, dtype=np.float64) - ref).max())
            run = impl.prepare(case, net, X, Y, order[:n], batch_size)
            rep = repeat if impl.name not in SLOW else max(1, repeat // 2)
            per = time_run(run, theta0, n, rep)
        except Exception as exc:  # a peer failing must not hide the others' figures
            res.note = f"failed: {type(exc).__name__}: {exc}"[:200]
            results.append(res)
            continue
        res.us_per_example = per * 1e6
        res.samples_per_second = 1.0 / per
        res.extra["rows"] = n
        results.append(res)
    roof = roofline_seconds(net.n_params, net.dtype) * 1e6
    for r in results:
        r.extra["roofline_us"] = roof
    return results


def agreement_tolerance(dtype):
    """Largest |theta_peer - theta_fastbp| accepted after N_CHECK steps."""
    return 1e-9 if dtype == "float64" else 1e-4


def format_table(results):
    """A Markdown table of results (one block per case/dtype/batch size)."""
    lines = ["| case | dtype | batch | implementation | µs/example | samples/s | time vs fastbp "
             "| % of roofline | max abs param diff vs fastbp |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    fast = {(r.case, r.dtype, r.batch_size): r for r in results if r.impl == "fastbp"}
    for r in results:
        f = fast.get((r.case, r.dtype, r.batch_size))
        sizes = "-".join(str(s) for s in CASES[r.case].sizes)
        if math.isnan(r.us_per_example):
            lines.append(f"| {r.case} {sizes} | {r.dtype} | {r.batch_size} | {r.impl} | - | - | - "
                         f"| - | {r.note} |")
            continue
        ratio = r.us_per_example / f.us_per_example if f else math.nan
        roof = r.extra.get("roofline_us", math.nan) / r.us_per_example * 100
        diff = "reference" if r.impl == "fastbp" else f"{r.max_abs_diff:.1e}"
        if r.impl != "fastbp" and not r.max_abs_diff <= agreement_tolerance(r.dtype):
            diff += " (DISAGREES)"
        lines.append(f"| {r.case} {sizes} | {r.dtype} | {r.batch_size} | {r.impl} "
                     f"| {r.us_per_example:.3f} | {r.samples_per_second:,.0f} | {ratio:.2f}x "
                     f"| {roof:.0f}% | {diff} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- optimisers
def optimizer_costs(case_name="small", dtype="float64", n=20000, repeat=5):
    """µs/example of one per-example epoch for SGD, momentum, Nesterov, Adam and SGD with
    dropout 0.2, through the same calls ``Network.fit`` makes; returns {name: µs}."""
    from . import kernels, optim

    case = CASES[case_name]
    net = make_network(case, dtype)
    X, Y, order = make_data(case, dtype, n)
    ws, theta0, theta = net.workspace(), net.theta.copy(), net.theta
    lr, zero = net.dtype.type(LR), net.dtype.type(0.0)
    L = len(case.sizes)
    off = optim.make_dropout([0.0] * (L - 2), L, net.dtype, 0)
    runs = {"sgd": lambda: kernels.epoch(theta, net.spec, ws, X, Y, order, lr, zero, 1)}
    for name in ("momentum", "nesterov", "adam"):
        st = optim.make_state(name, net.n_params, net.dtype, LR)
        runs[name] = lambda st=st: optim.epoch(theta, net.spec, ws, st, off, X, Y, order, 1)
    drop = optim.make_dropout([0.2] * (L - 2), L, net.dtype, 1)
    st = optim.make_state("sgd", net.n_params, net.dtype, LR)
    runs["sgd + dropout 0.2"] = lambda: optim.epoch(theta, net.spec, ws, st, drop, X, Y,
                                                     order, 1)
    best = {}
    for name, run in runs.items():
        theta[:] = theta0
        run()
    for _ in range(repeat):
        for name, run in runs.items():
            theta[:] = theta0
            t0 = time.perf_counter()
            run()
            best[name] = min(best.get(name, math.inf), time.perf_counter() - t0)
    return {name: t / n * 1e6 for name, t in best.items()}


# ---------------------------------------------------------------------------- parallel
def _best(fn, repeat):
    fn()
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def parallel_speedups(case_name="small", dtype="float64", k=2, n=20000, repeat=3):
    """Seconds and speed-ups on this machine of: k networks trained one after another vs
    from k Python threads vs as a k-member Population (prange), and one network with
    Hogwild on k threads vs serial SGD (one epoch each). Returns a dict."""
    import threading

    from .parallel import Population

    case = CASES[case_name]
    X, Y, _ = make_data(case, dtype, n)
    kw = dict(hidden="sigmoid", output=case.output, loss=case.loss, dtype=dtype)
    nets = [Network(list(case.sizes), seed=s, **kw) for s in range(k)]
    theta0 = [m.theta.copy() for m in nets]

    def reset():
        for m, t0 in zip(nets, theta0):
            m.theta[:] = t0

    def sequential():
        reset()
        for m in nets:
            m.fit(X, Y, epochs=1, lr=LR, seed=0)

    def threaded():
        reset()
        ts = [threading.Thread(target=m.fit, args=(X, Y), kwargs=dict(epochs=1, lr=LR, seed=0))
              for m in nets]
        for t in ts:
            t.start()
        for t in ts:
            t.join()

    pop = Population(list(case.sizes), k, seeds=range(k), **kw)
    pop_theta0 = pop.thetas.copy()

    def population():
        pop.thetas[:] = pop_theta0
        pop.fit(X, Y, epochs=1, lr=LR, n_threads=k)

    one = nets[0]

    def serial():
        one.theta[:] = theta0[0]
        one.fit(X, Y, epochs=1, lr=LR, seed=0)

    def hog():
        one.theta[:] = theta0[0]
        one.fit(X, Y, epochs=1, lr=LR, seed=0, n_threads=k)

    t = {name: _best(fn, repeat) for name, fn in (("sequential", sequential),
                                                  ("threads", threaded),
                                                  ("population", population),
                                                  ("serial", serial), ("hogwild", hog))}
    return {"k": k, "rows": n, **{f"{name}_s": v for name, v in t.items()},
            "threads_speedup": t["sequential"] / t["threads"],
            "population_speedup": t["sequential"] / t["population"],
            "hogwild_speedup": t["serial"] / t["hogwild"]}


def step_costs(case_name="tiny", dtype="float64", n=200_000):
    """µs per per-example SGD step: from a user's @njit loop, as one kernels.sgd_step call
    from Python, and as Network.partial_fit from Python. Returns a dict."""
    from . import kernels

    case = CASES[case_name]
    X, Y, _ = make_data(case, dtype, n)
    net = make_network(case, dtype)
    ws = net.workspace()
    lr = net.dtype.type(LR)
    loop = _user_loop()
    t_njit = _best(lambda: loop(net.theta, net.spec, ws, X, Y, lr), 3) / n
    m = min(n, 20000)
    x, y = X[0], Y[0]

    def from_python():
        for i in range(m):
            kernels.sgd_step(net.theta, net.spec, ws, x, y, lr)

    def partial():
        for i in range(m):
            net.partial_fit(x, y, lr=LR)

    return {"njit_us": t_njit * 1e6, "kernel_from_python_us": _best(from_python, 3) / m * 1e6,
            "partial_fit_us": _best(partial, 3) / m * 1e6}


_USER_LOOP = None


def _user_loop():
    """A user-style @njit loop over the rows calling kernels.sgd_step (compiled once)."""
    global _USER_LOOP
    if _USER_LOOP is None:
        from numba import njit

        from . import kernels

        @njit(cache=True)
        def user_loop(theta, spec, ws, X, Y, lr):
            total = 0.0
            for i in range(X.shape[0]):
                total += kernels.sgd_step(theta, spec, ws, X[i], Y[i], lr)
            return total

        _USER_LOOP = user_loop
    return _USER_LOOP


# ---------------------------------------------------------------------------- start-up
def startup_times(python=None):
    """Seconds for ``import fastbp``, and for a first fit in a fresh process with an empty
    numba cache and with a warm one (kernels use ``cache=True``)."""
    import subprocess
    import sys
    import tempfile

    python = python or sys.executable
    fit_code = ("import time; t0 = time.perf_counter(); import fastbp, numpy as np; "
                "net = fastbp.Network([4, 3, 2], output='softmax', seed=0); "
                "net.fit(np.ones((4, 4)), np.array([0, 1, 0, 1]), epochs=1); "
                "print(time.perf_counter() - t0)")
    import_code = ("import time; t0 = time.perf_counter(); import fastbp; "
                   "print(time.perf_counter() - t0)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)

        def run(code):
            p = subprocess.run([python, "-c", code], env=env, capture_output=True, text=True,
                               check=True)
            return float(p.stdout.strip().splitlines()[-1])

        out["import_s"] = min(run(import_code) for _ in range(3))
        out["first_fit_cold_cache_s"] = run(fit_code)
        out["first_fit_warm_cache_s"] = min(run(fit_code) for _ in range(3))
    return out


def main(argv=None):
    """Entry of ``fastbp bench`` (in a child process with single-threaded BLAS/XLA)."""
    import argparse
    import platform

    p = argparse.ArgumentParser(prog="fastbp bench")
    p.add_argument("--sizes", default="tiny,small,medium,large")
    p.add_argument("--dtype", default="both", choices=["float64", "float32", "both"])
    p.add_argument("--batch-size", default="1", help="comma-separated, e.g. 1,32")
    p.add_argument("--quick", action="store_true", help="fewer rows and repeats (~10x faster)")
    p.add_argument("--peers", default="numpy,jax,pytorch",
                   help="implementations besides fastbp (comma-separated; '' for none)")
    p.add_argument("--startup", action="store_true", help="also time import and first fit")
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
    unknown = peers - {"numpy", "jax", "pytorch"}
    if unknown:
        p.error(f"--peers: unknown {sorted(unknown)}; choose from numpy, jax, pytorch")
    impls = [i for i in IMPLS if i.name == "fastbp" or i.name in peers]
    print(f"fastbp bench on {platform.machine()} {platform.processor() or ''} "
          f"({os.cpu_count()} logical CPUs), Python {platform.python_version()}, "
          f"NumPy {np.__version__}; one thread per implementation", flush=True)
    results = []
    for name in names:
        for dtype in dtypes:
            for bs in batches:
                results += measure(name, dtype, bs, impls, repeat=3 if args.quick else 5,
                                   quick=args.quick)
                print(f"  measured {name} {dtype} batch {bs}", flush=True)
    print()
    print(format_table(results))
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
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
