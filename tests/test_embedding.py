"""Issue 5: kernels inside user @njit code, Python threads, populations, Hogwild."""
import json
import os
import pickle
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

import fastbp
from conftest import two_threads
from fastbp.datasets import make_prototypes

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_simulation_example_learns():
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    import simulation

    errors, no_change = simulation.main(n_steps=100_000, report_every=10_000, verbose=False)
    # online learning from scratch: the one-step prediction error ends 1000x below the
    # error of predicting "no change", and well below where it started
    assert errors[-1] < 1e-3 * no_change
    assert errors[-1] < 0.5 * errors[0]


USER_MODULE = '''
import numpy as np
from numba import njit
from fastbp import kernels, optim

@njit(cache=True)
def learn(theta, spec, ws, X, Y, lr, steps):
    """A user's own cached nopython loop calling the public kernels every step."""
    total = 0.0
    for t in range(steps):
        i = t % X.shape[0]
        out = kernels.forward(theta, spec, ws, X[i])
        total += out[0]
        total += kernels.sgd_step(theta, spec, ws, X[i], Y[i], lr)
    return total

@njit(cache=True)
def learn_adam(theta, spec, ws, opt, drop, X, Y, steps):
    total = 0.0
    for t in range(steps):
        i = t % X.shape[0]
        total += optim.step(theta, spec, ws, opt, drop, X[i], Y[i])
    return total
'''


def test_kernels_compile_in_user_cached_njit_code_and_allocate_nothing(tmp_path):
    (tmp_path / "usercode.py").write_text(USER_MODULE)
    script = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        sys.path.insert(0, {str(tmp_path)!r})
        from numba.core.runtime import rtsys
        import fastbp
        from fastbp import optim
        import usercode
        net = fastbp.Network([3, 5, 2], hidden="tanh", output="softmax", seed=0)
        rng = np.random.default_rng(0)
        X = rng.normal(size=(50, 3)); Y = np.eye(2)[rng.integers(0, 2, 50)]
        ws = net.workspace()
        opt = optim.make_state("adam", net.n_params, net.dtype, 0.01)
        drop = optim.make_dropout([0.2], 3, net.dtype, 1)
        out = {{}}
        for name, call in (("sgd", lambda n: usercode.learn(net.theta, net.spec, ws, X, Y, 0.05, n)),
                           ("adam", lambda n: usercode.learn_adam(net.theta, net.spec, ws, opt, drop, X, Y, n))):
            call(10)
            a = rtsys.get_allocation_stats().alloc
            call(100)
            b = rtsys.get_allocation_stats().alloc
            call(10000)
            c = rtsys.get_allocation_stats().alloc
            out[name] = [b - a, c - b]
        out["finite"] = bool(np.isfinite(net.theta).all())
        print(json.dumps(out))
    """)
    env = dict(os.environ, NUMBA_NRT_STATS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for run in range(2):  # the second run loads the user's function from numba's cache
        proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                              text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        assert res["finite"]
        for name in ("sgd", "adam"):
            small, big = res[name]
            assert small == big, f"{name}: allocations grow with the number of steps: {res}"
    assert list(tmp_path.glob("__pycache__/usercode.learn*.nbi")), "not cached"


def test_networks_in_python_threads_match_sequential_training():
    X, y = make_prototypes(n_samples=3000, n_features=32, n_classes=4, seed=0)
    seeds = [0, 1, 2, 3]
    sequential = []
    for s in seeds:
        net = fastbp.Network([32, 24, 4], output="softmax", seed=s)
        net.fit(X, y, epochs=3, lr=0.05)
        sequential.append(net.theta.copy())
    nets = [fastbp.Network([32, 24, 4], output="softmax", seed=s) for s in seeds]
    threads = [threading.Thread(target=n.fit, args=(X, y), kwargs=dict(epochs=3, lr=0.05))
               for n in nets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for net, ref in zip(nets, sequential):
        np.testing.assert_array_equal(net.theta, ref)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("batch_size,l2", [(1, 1e-3), (8, 1e-3), (1, 0.0), (1, 1e-50)])
def test_population_rows_match_networks_trained_alone(dtype, batch_size, l2):
    # each of plain SGD's skeletons (Population compiles the one it runs; an l2 that rounds
    # to 0 in float32 runs the one without decay, as Network.fit does)
    X, y = make_prototypes(n_samples=500, n_features=16, n_classes=3, seed=1)
    seeds, lrs = [5, 6, 7], [0.1, 0.03, 0.2]
    pop = fastbp.Population([16, 12, 3], 3, output="softmax", dtype=dtype, seeds=seeds)
    losses = pop.fit(X, y, epochs=3, lr=lrs, batch_size=batch_size, l2=l2)
    assert losses.shape == (3, 3)
    for r, (s, lr) in enumerate(zip(seeds, lrs)):
        net = fastbp.Network([16, 12, 3], output="softmax", dtype=dtype, seed=s)
        h = net.fit(X, y, epochs=3, lr=lr, batch_size=batch_size, l2=l2)
        np.testing.assert_array_equal(pop.thetas[r], net.theta)
        np.testing.assert_allclose(losses[:, r], h.loss, rtol=1e-12)
        np.testing.assert_array_equal(pop.members[r].predict(X), net.predict(X))
    assert np.shares_memory(pop.members[1].theta, pop.thetas)


def test_population_divergence_and_validation():
    X = np.random.default_rng(0).normal(size=(50, 3)) * 30
    Y = np.random.default_rng(1).normal(size=(50, 1)) * 30
    pop = fastbp.Population([3, 8, 1], 2, hidden="identity", output="identity")
    before = pop.thetas.copy()
    with pytest.raises(fastbp.DivergenceError, match=r"members \[1\] diverged at epoch 1") as err:
        pop.fit(X, Y, lr=[1e-6, 1.0])
    assert err.value.members == (1,) and err.value.epoch == 1
    again = pickle.loads(pickle.dumps(err.value))  # e.g. raised in a worker process
    assert (type(again), str(again), again.epoch, again.members) == (
        fastbp.DivergenceError, str(err.value), 1, (1,))
    assert len(again.history) == len(err.value.history) == 0
    np.testing.assert_array_equal(pop.thetas[1], before[1])
    assert not np.array_equal(pop.thetas[0], before[0])  # member 0 kept its epoch
    with pytest.raises(ValueError, match=r"lr must be one number or 2"):
        pop.fit(X, Y, lr=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match=r"lr\[0\] must be > 0.0"):
        pop.fit(X, Y, lr=[0.0, 0.1])


@two_threads
def test_hogwild_converges():
    X, y = make_prototypes(n_samples=4000, n_features=64, n_classes=10, seed=2)
    Xte, yte = X[3000:], y[3000:]
    net = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    h = net.fit(X[:3000], y[:3000], epochs=5, lr=0.1, n_threads=2, seed=0)
    assert h.loss[-1] < 0.5 * h.loss[0]
    accuracy = np.mean(net.predict(Xte).argmax(1) == yte)
    assert accuracy > 0.85  # serial SGD reaches about 0.9 here
    with pytest.raises(ValueError, match=r"n_threads=2 \(Hogwild\) runs plain per-example SGD"):
        net.fit(X, y, n_threads=2, optimizer="adam")
    with pytest.raises(ValueError, match=r"n_threads must be at most"):
        net.fit(X, y, n_threads=10_000)


@pytest.mark.parametrize("batch_size,l2", [(1, 0.0), (1, 1e-3), (5, 1e-3)])
def test_public_parallel_kernels_match_population_fit_and_hogwild(batch_size, l2):
    # fastbp.parallel.population_epoch / hogwild_epoch (prange, plain SGD's skeleton chosen
    # at run time) compute what Population.fit and Hogwild compute on Python threads through
    # Network.fit's pass (epochs.run): the same arithmetic, bit for bit (Hogwild on one
    # thread is deterministic)
    from fastbp import epochs, optim, parallel, threads, training
    from fastbp.layout import Workspace
    X, y = make_prototypes(n_samples=60, n_features=5, n_classes=3, seed=2)
    Y = np.eye(3)[y]
    pop = fastbp.Population([5, 4, 3], 2, output="softmax")
    units, grads = parallel.workspaces(pop.layout, 2, pop.dtype)
    orders = np.stack([np.arange(60), np.arange(60)[::-1].copy()])
    lrs = np.array([0.1, 0.05])
    a, b = pop.thetas.copy(), pop.thetas.copy()
    ta, tb = np.zeros(2), np.zeros(2)
    with threads.pool(1):
        parallel.population_epoch(a, pop.spec, units, grads, X, Y, orders, lrs, l2, batch_size, ta)
    drop = optim.make_dropout([0.0], 3, pop.dtype, 0)
    for r in range(2):
        u = units[r]
        tb[r] = epochs.run(b[r], pop.spec, Workspace(u[0], u[1], u[2], grads[r], u, u[3]),
                           optim.make_state("sgd", pop.layout.n_params, pop.dtype, lrs[r], l2),
                           drop, X, Y, orders[r], batch_size)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ta, tb)
    if batch_size == 1:
        u1, g1 = parallel.workspaces(pop.layout, 1, pop.dtype)
        net = pop.members[0].copy()
        a = net.theta.copy()
        ta = np.zeros(1)
        with threads.pool(1):
            parallel.hogwild_epoch(a, pop.spec, u1, g1, X, Y, orders[1], 0.1, l2, ta)
        tb = training.hogwild(net, X, Y, orders[1], 0.1, l2, 1)
        np.testing.assert_array_equal(a, net.theta)
        assert ta[0] == tb


def test_epoch_path_refuses_a_path_that_does_not_fit():
    # a skeleton other than plain_path's would silently ignore l2 or the batch size
    from fastbp import kernels
    net = fastbp.Network([3, 4, 2], seed=0)
    X, Y = np.ones((6, 3)), np.zeros((6, 2))
    theta = net.theta.copy()
    for path, bs, l2 in ((kernels.EXAMPLES, 1, 1e-3), (kernels.EXAMPLES_DECAY, 1, 0.0),
                         (kernels.BATCHES, 1, 0.0), (kernels.EXAMPLES, 4, 0.0), (7, 1, 0.0)):
        with pytest.raises(ValueError, match=r"path must be kernels.plain_path"):
            kernels.epoch_path(path, theta, net.spec, net.workspace(), X, Y, np.arange(6), 0.1,
                               l2, bs)
    np.testing.assert_array_equal(theta, net.theta)
    kernels.epoch_path(kernels.EXAMPLES, theta, net.spec, net.workspace(), X, Y, np.arange(6),
                       0.1, 0.0, 1)
    assert not np.array_equal(theta, net.theta)


def test_a_pool_opened_inside_a_pool_does_not_wait_for_itself():
    # Population.fit opened threads.pool itself (it runs on Python threads now); inside a
    # user's pool on the same thread it waited for ever on the launch lock (a plain Lock;
    # now re-entrant)
    import threading

    from fastbp import threads
    rng = np.random.default_rng(0)
    X, Y = rng.random((20, 3)), rng.random((20, 2))
    done = []

    def nested():
        with threads.pool(1):
            fastbp.Population([3, 4, 2], 2).fit(X, Y, epochs=1, lr=0.1)
            with threads.pool(1) as size:
                done.append(size)

    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    worker.join(timeout=120)  # a cold Population compile takes ~10 s
    assert done == [1], "nested threads.pool calls deadlocked"


@pytest.mark.parametrize("batch_size,l2", [(1, 0.0), (1, 1e-3), (5, 1e-3)])
def test_kernels_epoch_from_python_and_from_njit_code_agree(batch_size, l2):
    # from Python, kernels.epoch runs the pass of the one skeleton it needs (its checks
    # compiled, the pass called from Python); in a user's @njit code it chooses at run time:
    # the same arithmetic, bit for bit, and the NumPy baseline's parameters
    from numba import njit

    from fastbp import kernels

    @njit
    def user_epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size):
        return kernels.epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size)

    X, y = make_prototypes(n_samples=40, n_features=5, n_classes=3, seed=1)
    Y = np.eye(3)[y]
    net = fastbp.Network([5, 4, 3], output="softmax", seed=0)
    a, b = net.theta.copy(), net.theta.copy()
    order = np.arange(40)[::-1].copy()
    ta = kernels.epoch(a, net.spec, net.workspace(), X, Y, order, 0.1, l2, batch_size)
    tb = user_epoch(b, net.spec, net.workspace(), X, Y, order, 0.1, l2, batch_size)
    assert ta == tb and np.array_equal(a, b) and not np.array_equal(a, net.theta)
    from fastbp import baseline
    ref = net.theta.copy()
    baseline.epoch(ref, net.layout, X, Y, order, 0.1, l2, batch_size)
    np.testing.assert_allclose(a, ref, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="batch_size"):
        kernels.epoch(a, net.spec, net.workspace(), X, Y, order, 0.1, l2, 0)


ONE_SKELETON = """
import numpy as np
import fastbp
from fastbp import epochs, kernels
net = fastbp.Network([3, 4, 2], seed=0)
X, Y = np.random.default_rng(0).random((8, 3)), np.zeros((8, 2))
kernels.epoch(net.theta.copy(), net.spec, net.workspace(), X, Y, np.arange(8), 0.1, 0.0, 1)
compiled = {k: len(p.signatures) for k, p in epochs.EXAMPLE_PASSES.items()}
compiled.update({k: len(p.signatures) for k, p in epochs.BATCH_PASSES.items()})
assert sum(compiled.values()) == 1 and compiled[epochs.SGD, False, False] == 1, compiled
print("ok")
"""


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing compiles")
def test_kernels_epoch_from_python_compiles_only_its_skeleton(tmp_path):
    # a first kernels.epoch compiled all three of plain SGD's skeletons: 15.5 s with an
    # empty cache (2-4-1, one pinned core) against 5.8 s now
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", ONE_SKELETON], capture_output=True, text=True,
                         timeout=600, cwd="/", env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT") == "1", reason="nothing compiles")
def test_later_kernels_epoch_calls_from_python_compile_nothing():
    # a call from Python goes straight to its skeleton's compiled function: with the path
    # passed as a numba.literally argument, every call typed the function again (2-4-1:
    # 1.4 instead of 0.08 µs per example at 100 000 rows per call)
    from numba.core import event

    from fastbp import kernels
    net = fastbp.Network([3, 4, 2], seed=0)
    X, Y = np.random.default_rng(0).random((8, 3)), np.zeros((8, 2))
    for bs, l2 in ((1, 0.0), (1, 1e-3), (4, 0.0)):
        kernels.epoch(net.theta.copy(), net.spec, net.workspace(), X, Y, np.arange(8), 0.1, l2,
                      bs)
        with event.install_recorder("numba:compile") as rec:
            for _ in range(2):
                kernels.epoch(net.theta.copy(), net.spec, net.workspace(), X, Y, np.arange(8),
                              0.1, l2, bs)
        assert not rec.buffer, (bs, l2, [e for e in rec.buffer][:2])
