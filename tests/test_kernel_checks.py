"""Issue "Trust", part 2: misusing the public kernels raises a clear ValueError, never a
crash, from Python and from a user's @njit code; the spec table is read-only."""
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit

import fastbp
from fastbp import kernels, optim
from fastbp.layout import Spec, W_OFF, SIZES

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def nets():
    """A 4-8-3 network, a smaller 4-2-3 one (same inputs and outputs) and data for them."""
    big = fastbp.Network([4, 8, 3], seed=0)
    small = fastbp.Network([4, 2, 3], seed=1)
    rng = np.random.default_rng(0)
    X = rng.random((6, 4))
    Y = rng.random((6, 3))
    return big, small, X, Y


def _state(net, name="adam"):
    return optim.make_state(name, net.n_params, net.dtype, 0.01)


def _nodrop(net):
    return optim.make_dropout([0.0] * (len(net.sizes) - 2), len(net.sizes), net.dtype, 0)


def _fit_on_own_thetas(Y):
    pop = fastbp.Population([4, 8, 3], 2)
    return pop.fit(pop.thetas[1, :8].reshape(2, 4), Y[:2], epochs=1, lr=0.1)


def _cases(big, small, X, Y):
    """(name, call, match): each call misuses one argument of a public kernel."""
    th, sp, ws = big.theta.copy(), big.spec, big.workspace()
    order = np.arange(X.shape[0])
    x, y = X[0].copy(), Y[0].copy()
    out = np.empty((X.shape[0], 3))
    adam, drop = _state(big), _nodrop(big)
    Workspace = fastbp.layout.Workspace
    return [
        # the per-example passes are compiled on the promise that these never overlap
        ("X a view of theta, epoch",
         lambda: kernels.epoch(th, sp, ws, th[:24].reshape(6, 4), Y, order, 0.1, 0.0, 1),
         "X must not share memory with theta"),
        ("X a view of theta, optim.epoch",
         lambda: optim.epoch(th, sp, ws, adam, drop, th[:24].reshape(6, 4), Y, order, 1),
         "X must not share memory with theta"),
        ("X a view of theta, Network.fit",
         lambda: big.fit(big.theta[:24].reshape(6, 4), Y, epochs=1, lr=0.1),
         "X shares memory with the network's parameters"),
        ("X a view of the thetas, Population.fit", lambda: _fit_on_own_thetas(Y),
         "X shares memory with the population's thetas"),
        ("workspace z inside theta, epoch",
         lambda: kernels.epoch(th, sp, Workspace(th[:20], *ws[1:]), X, Y, order, 0.1, 0.0, 1),
         "must not share memory with theta"),
        ("workspace z and a one buffer, optim.epoch",
         lambda: optim.epoch(th, sp, Workspace(ws.z, ws.z, *ws[2:]), adam, drop, X, Y, order,
                             1),
         "z, a, delta and mask must not share memory"),
        ("X a view of the workspace, epoch",
         lambda: kernels.epoch(th, sp, ws, ws.a[:8].reshape(2, 4), Y[:2], order[:2], 0.1, 0.0,
                               1),
         "X must not share memory with the workspace"),
        ("theta of a smaller network, sgd_step",
         lambda: kernels.sgd_step(small.theta.copy(), sp, ws, x, y, 0.1), "theta must have"),
        ("workspace of a smaller network, sgd_step",
         lambda: kernels.sgd_step(th, sp, small.workspace(), x, y, 0.1), "workspace buffers"),
        ("workspace of a smaller network, epoch",
         lambda: kernels.epoch(th, sp, small.workspace(), X, Y, order, 0.1, 0.0, 1),
         "workspace buffers"),
        ("order index 10**9, epoch",
         lambda: kernels.epoch(th, sp, ws, X, Y, np.array([0, 10**9]), 0.1, 0.0, 1),
         "order: every row index"),
        ("negative order index, epoch_batched",
         lambda: kernels.epoch_batched(th, sp, ws, None, X, Y, np.array([-1]), 0.1, 0.0, 2),
         "order: every row index"),
        ("order index 10**9, optim.epoch",
         lambda: optim.epoch(th, sp, ws, adam, drop, X, Y, np.array([10**9]), 1),
         "order: every row index"),
        ("Adam state of another network, optim.step",
         lambda: optim.step(th, sp, ws, _state(small), drop, x, y), "opt.m must have"),
        ("Adam state of another network, optim.epoch",
         lambda: optim.epoch(th, sp, ws, _state(small), drop, X, Y, order, 1), "opt.m must"),
        ("dropout of another depth, optim.step",
         lambda: optim.step(th, sp, ws, adam, _nodrop(fastbp.Network([4, 5, 5, 3])), x, y),
         "drop.keep"),
        ("out too small, predict",
         lambda: kernels.predict(th, sp, ws, X, out[:2]), "out must have shape"),
        ("theta of another network, predict",
         lambda: kernels.predict(small.theta, sp, ws, X, out), "theta must have"),
        ("x too short, forward",
         lambda: kernels.forward(th, sp, ws, x[:2]), "x must have n_inputs"),
        ("x too long, sgd_step",
         lambda: kernels.sgd_step(th, sp, ws, np.ones(9), y, 0.1), "x must have n_inputs"),
        ("x too short, optim.step",
         lambda: optim.step(th, sp, ws, adam, drop, x[:3], y), "x must have n_inputs"),
        ("y too short, output_delta",
         lambda: kernels.output_delta(sp, ws, y[:1]), "y must have n_outputs"),
        ("y too long, example_cost",
         lambda: kernels.example_cost(sp, ws, np.ones(7)), "y must have n_outputs"),
        ("theta of a smaller network, backward_update",
         lambda: kernels.backward_update(small.theta.copy(), sp, ws, 0.1), "theta must have"),
        ("workspace of a smaller network, backward_accumulate",
         lambda: kernels.backward_accumulate(th, sp, small.workspace()), "workspace"),
        ("theta of a smaller network, apply_gradient",
         lambda: kernels.apply_gradient(small.theta.copy(), sp, ws, 0.1, 0.0, 1.0), "theta"),
        ("theta of a smaller network, l2_term",
         lambda: kernels.l2_term(small.theta, sp), "theta must have"),
        ("X with the wrong columns, loss",
         lambda: kernels.loss(th, sp, ws, X[:, :3], Y, 0.0), "X must have n_inputs"),
        ("Y with fewer rows than X, loss",
         lambda: kernels.loss(th, sp, ws, X, Y[:2], 0.0), "same number of rows"),
        ("grad of a smaller network, loss_and_gradient",
         lambda: kernels.loss_and_gradient(th, sp, ws, X, Y, 0.0, np.empty(5)), "grad"),
        ("Y with the wrong columns, epoch",
         lambda: kernels.epoch(th, sp, ws, X, Y[:, :1], order, 0.1, 0.0, 1),
         "Y must have n_outputs"),
        ("batch_size 0, epoch",
         lambda: kernels.epoch(th, sp, ws, X, Y, order, 0.1, 0.0, 0), "batch_size"),
        ("units of a smaller network's n_units, checked_step",
         lambda: kernels.checked_step(th, sp.table, sp.loss, np.zeros((4, small.layout.n_units)),
                                      x, y, np.ones(1), np.empty_like(th)), "units must have"),
        ("backup too small, checked_step",
         lambda: kernels.checked_step(th, sp.table, sp.loss, ws.units, x, y, np.ones(1),
                                      np.empty(3)), "backup"),
        ("a spec whose weight offsets point far outside theta, predict",
         lambda: kernels.predict(th, _tampered(sp), ws, X, out), "W_OFF"),
        ("a spec whose sizes grew, predict",
         lambda: kernels.predict(th, _grown(sp), ws, np.ones((2, 4)), out[:2]), "match"),
        ("an unknown loss code, sgd_step",
         lambda: kernels.sgd_step(th, Spec(sp.table, 7), ws, x, y, 0.1), "spec.loss"),
    ]


def _tampered(spec):
    table = spec.table.copy()
    table[W_OFF, 1] = 10**7
    return Spec(table, spec.loss)


def _grown(spec):
    """The issue's ``net.spec.table[0, 1] = 10**7`` on a copy (the real table is read-only)."""
    table = spec.table.copy()
    table[SIZES, 1] = 10**7
    return Spec(table, spec.loss)


def _names():
    big = fastbp.Network([4, 8, 3])
    return [c[0] for c in _cases(big, big, np.ones((1, 4)), np.ones((1, 3)))]


@pytest.mark.parametrize("index", range(len(_names())), ids=_names())
def test_misuse_raises_a_clear_value_error(nets, index):
    big, small, X, Y = nets
    theta_before = big.theta.copy()
    name, call, match = _cases(big, small, X, Y)[index]
    with pytest.raises(ValueError, match=match):
        call()
    np.testing.assert_array_equal(big.theta, theta_before)


def test_correct_calls_still_work(nets):
    big, _, X, Y = nets
    th, sp, ws = big.theta.copy(), big.spec, big.workspace()
    assert np.isfinite(kernels.sgd_step(th, sp, ws, X[0], Y[0], 0.1))
    assert np.isfinite(kernels.epoch(th, sp, ws, X, Y, np.arange(6), 0.1, 0.0, 4))
    assert np.isfinite(optim.step(th, sp, ws, _state(big), _nodrop(big), X[0], Y[0]))
    out = np.empty((6, 3))
    kernels.predict(th, sp, ws, X, out)
    assert np.all(np.isfinite(out))
    # a bigger workspace is fine: the kernels only need n_units entries
    assert np.isfinite(kernels.sgd_step(th, sp, fastbp.Network([4, 30, 3]).workspace(),
                                        X[0], Y[0], 0.1))


def test_spec_table_is_read_only(nets):
    big, _, X, _ = nets
    table = big.spec.table
    with pytest.raises(ValueError, match="read-only"):
        table[0, 1] = 10**7
    with pytest.raises(ValueError, match="WRITEABLE"):
        table.flags.writeable = True
    assert big.predict(X).shape == (6, 3)


def test_copies_keep_the_table_read_only(nets):
    import copy
    import pickle
    big = nets[0]
    for other in (pickle.loads(pickle.dumps(big)), copy.deepcopy(big), big.copy()):
        assert not other.spec.table.flags.writeable


def test_user_njit_code_with_a_wrong_array_raises(nets):
    big, small, X, Y = nets

    @njit
    def user_loop(theta, spec, ws, X, Y, lr):
        total = 0.0
        for i in range(X.shape[0]):
            total += kernels.sgd_step(theta, spec, ws, X[i], Y[i], lr)
        return total

    th, sp, ws = big.theta.copy(), big.spec, big.workspace()
    assert np.isfinite(user_loop(th, sp, ws, X, Y, 0.1))
    with pytest.raises(ValueError, match="theta must have"):
        user_loop(small.theta.copy(), sp, ws, X, Y, 0.1)
    with pytest.raises(ValueError, match="x must have n_inputs"):
        user_loop(th, sp, ws, X[:, :2], Y, 0.1)


CHILD = textwrap.dedent("""
    import numpy as np
    import fastbp
    from fastbp import kernels
    big, small = fastbp.Network([4, 8, 3]), fastbp.Network([4, 2, 3])
    ws, X, Y = big.workspace(), np.ones((5, 4)), np.ones((5, 3))
    caught = 0
    calls = [
        lambda: kernels.epoch(big.theta, big.spec, ws, X, Y, np.array([10**9]), 0.1, 0.0, 1),
        lambda: kernels.predict(big.theta, big.spec, ws, X, np.empty((2, 3))),
        lambda: kernels.sgd_step(small.theta, big.spec, ws, X[0], Y[0], 0.1),
        lambda: kernels.forward(big.theta, big.spec, small.workspace(), X[0, :1]),
    ]
    for call in calls:
        try:
            call()
        except ValueError:
            caught += 1
    try:
        big.spec.table[0, 1] = 10**7
    except ValueError:
        caught += 1
    big.predict(np.ones((2, 4)))
    print("caught", caught)
""")


def test_misuse_in_a_child_process_is_not_a_crash():
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.run([sys.executable, "-c", CHILD], cwd="/", env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode >= 0, f"killed by {signal.Signals(-proc.returncode).name}"
    assert proc.returncode == 0, proc.stderr
    assert "caught 5" in proc.stdout
