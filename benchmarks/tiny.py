"""Tiny networks, per-example plain SGD: fastbp's generic kernel, fastbp's specialised kernel
(fastbp._tiny) and a strong JAX peer, timed alternately in one process.

    cd / && PYTHONPATH=/work/main taskset -c 1 python /work/main/benchmarks/tiny.py [--quick]

Prints µs per example (best of --repeats alternating rounds) and fastbp / JAX ratios, then
the specialised kernel's cold compile and warm load times (fresh processes).

The JAX peer is written the way JAX's documentation writes a training loop: one ``jit`` of a
whole epoch, ``lax.scan`` over the examples carrying the parameters (a pytree of W, b),
``value_and_grad`` of the per-example cost, the parameters donated, the data already on the
device, ``block_until_ready`` around the timed call; ``unroll`` of the scan is tried at
1, 4 and 16 and the fastest one counts. XLA runs on one core under ``taskset``.
"""
import argparse
import os
import subprocess
import sys
import time

import numpy as np

os.environ["FASTBP_TINY"] = "1"

from fastbp import Network, _tiny, epochs, optim  # noqa: E402

# (name, sizes, hidden, output, loss)
CASES = [
    ("tiny 2-4-1", (2, 4, 1), "sigmoid", "sigmoid", "mse"),
    ("2-8-1", (2, 8, 1), "sigmoid", "sigmoid", "mse"),
    ("4-8-3 softmax", (4, 8, 3), "sigmoid", "softmax", "cross_entropy"),
    ("4-8-8-2", (4, 8, 8, 2), "tanh", "sigmoid", "mse"),
    ("16-16-4 (generic only)", (16, 16, 4), "tanh", "sigmoid", "mse"),
]
LR = 0.01


def data(sizes, n, dtype, softmax):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    if softmax:
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(sizes[-1], size=n)]
    else:
        Y = rng.random((n, sizes[-1])).astype(dtype)
    return X, Y


def fastbp_runner(net, X, Y, specialised):
    order = np.arange(X.shape[0])
    opt = optim.make_state("sgd", net.n_params, net.dtype, LR, 0.0, 0.9, 0.9, 0.999, 1e-8)
    drop = optim.make_dropout([0.0] * (len(net.sizes) - 2), len(net.sizes), net.dtype, 0)
    theta, ws = net.theta.copy(), net.layout.workspace(net.dtype)
    run = _tiny.run if specialised else epochs.run
    if specialised and _tiny.kernels_for(net.spec) is None:
        return None
    return lambda: run(theta, net.spec, ws, opt, drop, X, Y, order, 1)


def jax_runner(net, X, Y, hidden, output, unroll):
    import jax
    import jax.numpy as jnp
    from jax import lax

    acts = {"sigmoid": jax.nn.sigmoid, "tanh": jnp.tanh}

    def cost(params, x, y):
        a = x
        for W, b in params[:-1]:
            a = acts[hidden](W @ a + b)
        W, b = params[-1]
        z = W @ a + b
        if output == "softmax":
            return -jnp.sum(y * jax.nn.log_softmax(z))
        out = acts[output](z)
        return 0.5 * jnp.sum((out - y) ** 2)

    def step(params, xy):
        c, g = jax.value_and_grad(cost)(params, *xy)
        return jax.tree.map(lambda p, d: p - LR * d, params, g), c

    def epoch(params, X, Y):
        params, costs = lax.scan(step, params, (X, Y), unroll=unroll)
        return params, costs.sum()

    epoch = jax.jit(epoch, donate_argnums=0)
    state = [tuple((jnp.asarray(W), jnp.asarray(b)) for W, b in zip(net.weights, net.biases))]
    Xd, Yd = jax.device_put(X), jax.device_put(Y)

    def run():
        state[0], total = epoch(state[0], Xd, Yd)
        total.block_until_ready()

    run()  # compile
    return run


def best(fn, n):
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) / n * 1e6


def measure(case, dtype, n, repeats):
    name, sizes, hidden, output, loss = case
    net = Network(sizes, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=0)
    X, Y = data(sizes, n, dtype, output == "softmax")
    runners = {"generic": fastbp_runner(net, X, Y, False),
               "specialised": fastbp_runner(net, X, Y, True)}
    try:
        for u in (1, 4, 16):
            runners[f"jax u{u}"] = jax_runner(net, X, Y, hidden, output, u)
    except ImportError:
        pass
    runners = {k: r for k, r in runners.items() if r is not None}
    for r in runners.values():
        r()  # compile / warm
    times = {k: [] for k in runners}
    for _ in range(repeats):  # alternate, keep each one's best
        for k, r in runners.items():
            times[k].append(best(r, n))
    return {k: (min(v), float(np.median(v))) for k, v in times.items()}


_COLD = """
import time, numpy as np
t0 = time.perf_counter()
import fastbp
from fastbp import _tiny
net = fastbp.Network({sizes!r}, seed=0, dtype={dtype!r})
X = np.zeros((10, {n0}), {dtype!r}); Y = np.zeros((10, {nl}), {dtype!r})
net.fit(X, Y, epochs=1)
t1 = time.perf_counter()
print(t1 - t0)
"""


def cold_and_warm(sizes, dtype):
    """Seconds of a first fit in fresh processes: with the specialised kernel's cache entry
    absent (the generic kernels cached), then present, then with FASTBP_TINY=0."""
    import shutil
    code = _COLD.format(sizes=sizes, dtype=dtype, n0=sizes[0], nl=sizes[-1])
    env = dict(os.environ)
    folder = _tiny.folder()
    out = {}
    for label, flag in (("generic", "0"), ("tiny cold", "1"), ("tiny warm", "1")):
        if label == "tiny cold":
            # drop the specialised kernels' modules and cache entries only
            shutil.rmtree(folder, True)
            parent = os.path.dirname(folder)
            for entry in os.listdir(parent):
                if entry.startswith("fastbp_tiny_"):
                    shutil.rmtree(os.path.join(parent, entry), True)
        env["FASTBP_TINY"] = flag
        r = subprocess.run([sys.executable, "-c", code], env=env, cwd="/", capture_output=True,
                           text=True, check=True)
        out[label] = float(r.stdout.split()[-1])
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="2-4-1 only, no cold start")
    p.add_argument("--repeats", type=int, default=None, help="rounds (7; --quick 3)")
    p.add_argument("--n", type=int, default=None, help="examples (200000; --quick 20000)")
    args = p.parse_args()
    n = args.n or (20_000 if args.quick else 200_000)
    repeats = args.repeats or (3 if args.quick else 7)
    cases = CASES[:1] if args.quick else CASES
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
    except ImportError:
        print("jax not installed: fastbp only")
    print(f"µs per example, best (median) of {repeats} alternating rounds, {n} examples")
    for dtype in ("float64", "float32"):
        for case in cases:
            r = measure(case, dtype, n, repeats)
            cells = "  ".join(f"{k} {b:.4f} ({m:.4f})" for k, (b, m) in r.items())
            jx = [b for k, (b, _) in r.items() if k.startswith("jax")]
            ratio = ""
            if jx:
                ratio = f"  | fastbp/JAX generic {r['generic'][0] / min(jx):.2f}"
                if "specialised" in r:
                    ratio += f" specialised {r['specialised'][0] / min(jx):.2f}"
            print(f"{dtype} {case[0]:>26}: {cells}{ratio}", flush=True)
    if not args.quick:
        for dtype in ("float64", "float32"):
            t = cold_and_warm((2, 4, 1), dtype)
            print(f"first fit of 2-4-1 {dtype} in a fresh process: " +
                  ", ".join(f"{k} {v:.2f} s" for k, v in t.items()), flush=True)


if __name__ == "__main__":
    main()
