"""What else ``fastbp bench`` measures: optimiser and dropout costs, parallel speed-ups,
the cost of one step from user code and from Python, and start-up times."""
import math
import os
import time


from ..network import Network
from .cases import CASES, LR, make_data, make_network
from .floor import best_time
from .userloop import user_loop


# ---------------------------------------------------------------------------- optimisers
def optimizer_costs(case_name="small", dtype="float64", n=20000, repeat=5):
    """µs/example of one per-example epoch for SGD, momentum, Nesterov, Adam and SGD with
    dropout 0.2, through the same calls ``Network.fit`` makes; returns {name: µs}."""
    from .. import kernels, optim

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
def parallel_speedups(case_name="small", dtype="float64", k=2, n=20000, repeat=3):
    """Seconds and speed-ups on this machine of: k networks trained one after another vs
    from k Python threads vs as a k-member Population (prange), and one network with
    Hogwild on k threads vs serial SGD (one epoch each). Returns a dict."""
    import threading

    from ..population import Population

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

    t = {name: best_time(fn, repeat) for name, fn in (("sequential", sequential),
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
    from .. import kernels

    case = CASES[case_name]
    X, Y, _ = make_data(case, dtype, n)
    net = make_network(case, dtype)
    ws = net.workspace()
    lr = net.dtype.type(LR)
    t_njit = best_time(lambda: user_loop(net.theta, net.spec, ws, X, Y, lr), 3) / n
    m = min(n, 20000)
    x, y = X[0], Y[0]

    def from_python():
        for i in range(m):
            kernels.sgd_step(net.theta, net.spec, ws, x, y, lr)

    def partial():
        for i in range(m):
            net.partial_fit(x, y, lr=LR)

    return {"njit_us": t_njit * 1e6, "kernel_from_python_us": best_time(from_python, 3) / m * 1e6,
            "partial_fit_us": best_time(partial, 3) / m * 1e6}


# ---------------------------------------------------------------------------- start-up
#: what a first use compiles, path by path, in the order ``startup_times`` runs them in one
#: fresh process with an empty numba cache: (label, the call; ``fit(**kw)`` is one epoch of
#: a 2-4-1 network on 20 rows). Each path's time is what it adds to the ones before it.
COLD_PATHS = (
    ("plain SGD", "fit()"),
    ("batch_size=32", "fit(batch_size=32)"),
    ("l2=1e-4", "fit(l2=1e-4)"),
    ("dropout=0.2", "fit(dropout=0.2)"),
    ("momentum", "fit(optimizer='momentum')"),
    ("adam", "fit(optimizer='adam')"),
    ("adam, batch_size=32", "fit(optimizer='adam', batch_size=32)"),
    ("float32", "fit(dtype='float32')"),
    ("Population.fit", "fastbp.Population([2, 4, 1], 2, seeds=[0, 1]).fit(X, Y, epochs=1)"),
    ("kernels.epoch", "kernels.epoch(net().theta, net().spec, net().workspace(), X, Y, "
                      "np.arange(20), 0.1, 0.0, 1)"),
    ("partial_fit", "net().partial_fit(X[0], Y[0])"),
)

_PATHS_CODE = """\
import json, sys, time
import numpy as np
import fastbp
from fastbp import kernels
X = np.random.default_rng(0).random((20, 2)); Y = (X[:, :1] > .5).astype(float)
def net(dtype='float64'):
    return fastbp.Network([2, 4, 1], seed=0, dtype=dtype)
def fit(dtype='float64', **kw):
    net(dtype).fit(X.astype(dtype), Y.astype(dtype), epochs=1, lr=0.1, **kw)
for label, call in json.loads(sys.argv[1]):
    t = time.perf_counter()
    exec(call)
    print(json.dumps([label, time.perf_counter() - t]), flush=True)
"""


def startup_times(python=None, paths=COLD_PATHS):
    """Seconds for ``import fastbp``, for a first fit in a fresh process with an empty
    numba cache and with a warm one (kernels use ``cache=True``), and (``cold_paths``) for
    each of ``paths`` in one more such process (``cold_path_times``)."""
    import tempfile

    fit_code = ("import time; t0 = time.perf_counter(); import fastbp, numpy as np; "
                "net = fastbp.Network([4, 3, 2], output='softmax', seed=0); "
                "net.fit(np.ones((4, 4)), np.array([0, 1, 0, 1]), epochs=1); "
                "print(time.perf_counter() - t0)")
    import_code = ("import time; t0 = time.perf_counter(); import fastbp; "
                   "print(time.perf_counter() - t0)")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        out["import_s"] = min(float(_run(python, cache, import_code)[-1]) for _ in range(3))
        out["first_fit_cold_cache_s"] = float(_run(python, cache, fit_code)[-1])
        out["first_fit_warm_cache_s"] = min(float(_run(python, cache, fit_code)[-1])
                                            for _ in range(3))
    if paths:
        out["cold_paths"] = cold_path_times(paths, python)
    return out


def cold_path_times(paths=COLD_PATHS, python=None):
    """{label: seconds} of each (label, call) of ``paths`` (as ``COLD_PATHS``), run one
    after the other in one fresh process with an empty numba cache: what each compiles on
    top of the ones before it."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        lines = _run(python, cache, _PATHS_CODE, json.dumps([list(p) for p in paths]))
    return dict(json.loads(line) for line in lines)


def _run(python, cache, code, *args):
    """stdout lines of ``python -c code *args`` with numba's cache in ``cache``."""
    import subprocess
    import sys

    p = subprocess.run([python or sys.executable, "-c", code, *args], capture_output=True,
                       text=True, env=dict(os.environ, NUMBA_CACHE_DIR=cache))
    if p.returncode:
        raise RuntimeError(f"the timed child process failed (exit {p.returncode}):\n"
                           f"{p.stderr[-2000:]}")
    return p.stdout.strip().splitlines()
