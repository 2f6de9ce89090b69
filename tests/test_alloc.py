"""The hot path allocates nothing: NRT allocation counts do not grow with the number of examples.

numba only counts NRT allocations when NUMBA_NRT_STATS=1 is set before it is imported, so
the measurement runs in a fresh interpreter.
"""
import json
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import json
    import numpy as np
    from numba import njit
    from numba.core.runtime import rtsys
    import fastbp
    from fastbp import kernels

    def count(fn):
        before = rtsys.get_allocation_stats()
        fn()
        after = rtsys.get_allocation_stats()
        return after.alloc - before.alloc, after.mi_alloc - before.mi_alloc

    @njit
    def user_loop(theta, spec, ws, X, Y, lr, steps):
        # a user's own nopython simulation loop calling the public kernels
        total = 0.0
        for t in range(steps):
            i = t % X.shape[0]
            out = kernels.forward(theta, spec, ws, X[i])
            total += out[0]
            total += kernels.sgd_step(theta, spec, ws, X[i], Y[i], lr)
        return total

    result = {}
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        net = fastbp.Network([8, 6, 5, 3], hidden="tanh", output="softmax", dtype=dtype, seed=0)
        N = 50
        X = rng.normal(size=(10 * N, 8)).astype(dtype)
        Y = np.eye(3, dtype=dtype)[rng.integers(0, 3, 10 * N)]
        theta, spec, ws = net.theta, net.spec, net.workspace()
        lr, l2 = net.dtype.type(0.01), net.dtype.type(0.001)
        grad = np.empty_like(theta)
        out = np.empty((10 * N, 3), dtype=dtype)
        bu = net.layout.batch_units(7, net.dtype)
        small, big = np.arange(N), np.arange(10 * N)
        from fastbp import optim
        states = {name: optim.make_state(name, net.n_params, net.dtype, 0.01, 0.001)
                  for name in ("sgd", "momentum", "nesterov", "adam")}
        no_drop = optim.make_dropout([0.0, 0.0], 4, net.dtype, 0)
        drop = optim.make_dropout([0.3, 0.2], 4, net.dtype, 5)
        calls = {
            "epoch_sgd": lambda o: kernels.epoch(theta, spec, ws, X, Y, o, lr, l2, 1),
            "epoch_batch": lambda o: kernels.epoch(theta, spec, ws, X, Y, o, lr, l2, 7),
            "epoch_batched": lambda o: kernels.epoch_batched(theta, spec, ws, bu, X, Y, o, lr, l2,
                                                             7),
            "gradient": lambda o: kernels.loss_and_gradient(theta, spec, ws, X[o], Y[o], l2, grad),
            "loss": lambda o: kernels.loss(theta, spec, ws, X[o], Y[o], l2),
            "predict": lambda o: kernels.predict(theta, spec, ws, X[o], out[o]),
            "user_loop": lambda o: user_loop(theta, spec, ws, X, Y, lr, len(o)),
        }
        for name, st in states.items():
            for bs in (1, 5):
                calls[f"optim_{name}_{bs}"] = (
                    lambda o, st=st, bs=bs: optim.epoch(theta, spec, ws, st, no_drop, X, Y, o, bs))
                calls[f"optim_{name}_{bs}_dropout"] = (
                    lambda o, st=st, bs=bs: optim.epoch(theta, spec, ws, st, drop, X, Y, o, bs))
        for name, call in calls.items():
            call(small)  # compile first
            Xs, Xb = X[small], X[big]  # slicing happens outside the measurement
            result[f"{dtype}/{name}"] = [count(lambda: call(small)), count(lambda: call(big))]
    print(json.dumps(result))
""")


def test_no_allocation_per_example():
    env = dict(os.environ, NUMBA_NRT_STATS="1")
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(result) == 2 * (7 + 16)
    for name, (small, big) in result.items():
        # N and 10N examples: same count (what remains is per call: boxing array arguments)
        assert small == big, f"{name}: {small} allocations for N examples, {big} for 10N"
        # one per array argument unboxed from Python (theta, spec, ws, optimiser and dropout
        # state, X, Y, order), none per example; optim.epoch and kernels.epoch from Python
        # make two compiled calls (their checks, then the one pass they run)
        bound = 40 if "/optim_" in name or name.endswith(("/epoch_sgd", "/epoch_batch")) else 20
        assert small[0] <= bound, f"{name}: {small[0]} allocations per call"
