"""Training behaviour: learning XOR, symmetry of zero init, reproducibility, divergence."""
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

import fastbp
from fastbp.datasets import make_prototypes, xor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize("batch_size", [1, 4])
def test_xor_is_learned(batch_size):
    X, Y = xor()
    net = fastbp.Network([2, 4, 1], hidden="sigmoid", output="sigmoid", loss="mse", seed=0)
    hist = net.fit(X, Y, epochs=3000 * batch_size, lr=2.0, batch_size=batch_size, seed=0)
    P = net.predict(X)
    assert np.all(np.abs(P - Y) < 0.2), P
    assert hist.loss[-1] < 0.01 < hist.loss[0]


def test_xor_with_cross_entropy_and_tanh():
    X, Y = xor()
    net = fastbp.Network([2, 3, 1], hidden="tanh", output="sigmoid", seed=1)
    net.fit(X, Y, epochs=2000, lr=0.5, seed=1)
    assert np.array_equal(net.predict(X) > 0.5, Y > 0.5)


def test_zeros_init_keeps_hidden_units_identical():
    X, Y = xor()
    net = fastbp.Network([2, 4, 1], hidden="sigmoid", output="sigmoid", loss="mse", init="zeros")
    net.fit(X, Y, epochs=2000, lr=2.0, seed=0)
    W1, b1, W2 = net.weights[0], net.biases[0], net.weights[1]
    assert np.abs(W1).max() > 0.1, "the weights did move"
    # every hidden unit received exactly the same updates: rows of W1, entries of b1 and W2
    assert np.all(W1 == W1[0]) and np.all(b1 == b1[0]) and np.all(W2 == W2[0, 0])
    # ...so the network is no better than one hidden unit and fails XOR
    assert not np.all(np.abs(net.predict(X) - Y) < 0.2)


def test_same_seed_is_bit_identical():
    X, y = make_prototypes(n_samples=200, n_features=8, n_classes=3, seed=1)
    runs = []
    for _ in range(2):
        net = fastbp.Network([8, 6, 3], output="softmax", seed=42)
        h = net.fit(X, y, epochs=3, lr=0.1)
        runs.append((net.theta.copy(), h.loss))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]
    other = fastbp.Network([8, 6, 3], output="softmax", seed=43)
    assert not np.array_equal(other.theta, fastbp.Network([8, 6, 3], output="softmax", seed=42).theta)


def test_init_scales():
    for init, bound in [("glorot_uniform", np.sqrt(6 / (50 + 30))), ("he_uniform", np.sqrt(6 / 50))]:
        W = fastbp.Network([50, 30, 2], init=init, seed=0).weights[0]
        assert np.abs(W).max() <= bound and np.abs(W).max() > 0.95 * bound
        assert abs(W.mean()) < 0.05 * bound
    W = fastbp.Network([50, 30, 2], init="normal", seed=0).weights[0]
    assert 0.009 < W.std() < 0.011
    net = fastbp.Network([50, 30, 2], seed=0)
    assert all(np.all(b == 0) for b in net.biases)
    assert np.all(fastbp.Network([50, 30, 2], init="zeros").theta == 0)
    # float32 gets the float64 draws, rounded
    n32 = fastbp.Network([50, 30, 2], dtype="float32", seed=0)
    np.testing.assert_array_equal(n32.theta, net.theta.astype(np.float32))


def test_shuffle_false_visits_rows_in_order_and_shuffle_changes_path():
    X, y = make_prototypes(n_samples=50, n_features=8, n_classes=3, seed=2)
    a = fastbp.Network([8, 5, 3], output="softmax", seed=0)
    b = a.copy()
    c = a.copy()
    a.fit(X, y, epochs=1, shuffle=False)
    b.partial_fit(X, y)
    np.testing.assert_array_equal(a.theta, b.theta)
    c.fit(X, y, epochs=1, shuffle=True, seed=0)
    assert not np.array_equal(a.theta, c.theta)


def test_divergence_is_detected_and_theta_restored():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3)) * 10
    Y = rng.normal(size=(40, 1)) * 10
    kw = dict(hidden="identity", output="identity", seed=0)
    net = fastbp.Network([3, 8, 1], **kw)
    with pytest.raises(fastbp.DivergenceError, match=r"diverged at epoch \d+ of 50.*restored.*"
                                                     r"smaller lr \(got 0.01\).*standardise X") as info:
        net.fit(X, Y, epochs=50, lr=0.01, seed=1)
    err = info.value
    assert err.epoch >= 1 and len(err.history) == err.epoch - 1 and err.members is None
    again = pickle.loads(pickle.dumps(err))
    assert (str(again), again.epoch, again.members) == (str(err), err.epoch, None)
    assert list(again.history.loss) == list(err.history.loss)
    assert np.isfinite(net.theta).all()
    # theta is exactly what the same training gives after the last good epoch
    ref = fastbp.Network([3, 8, 1], **kw)
    if err.epoch > 1:
        ref.fit(X, Y, epochs=err.epoch - 1, lr=0.01, seed=1)
    np.testing.assert_array_equal(net.theta, ref.theta)
    # the network stays usable
    assert np.isfinite(net.predict(X)).all()


def test_divergence_in_partial_fit_restores_theta():
    X = np.full((5, 2), 1e3)
    Y = np.full((5, 1), -1e3)
    net = fastbp.Network([2, 4, 1], hidden="identity", output="identity", seed=0)
    before = net.theta.copy()
    with pytest.raises(fastbp.DivergenceError, match="epoch 1 of 1"):
        net.partial_fit(X, Y, lr=1.0)
    np.testing.assert_array_equal(net.theta, before)


def test_history_records_each_epoch():
    X, y = make_prototypes(n_samples=100, n_features=8, n_classes=3, seed=3)
    net = fastbp.Network([8, 6, 3], output="softmax", seed=0)
    h = net.fit(X, y, epochs=4, lr=0.1, l2=1e-3)
    assert len(h) == 4 and net.history_ is h
    assert len(h["loss"]) == len(h.seconds) == len(h.samples_per_second) == 4
    assert all(s > 0 for s in h.seconds) and h.loss[-1] < h.loss[0]
    assert set(h.as_dict()) == {"loss", "val_loss", "val_accuracy", "lr", "seconds",
                                "samples_per_second"}
    assert h.lr == [0.1] * 4 and h.val_loss == [] and h.best_epoch is None
    with pytest.raises(KeyError, match="history has no 'acc'"):
        h["acc"]


def test_predict_shapes_and_partial_fit_single_example():
    net = fastbp.Network([3, 4, 2], output="softmax", seed=0)
    assert net.predict(np.ones(3)).shape == (2,)
    assert net.predict(np.ones((5, 3))).shape == (5, 2)
    np.testing.assert_allclose(net.predict(np.ones((5, 3))).sum(axis=1), 1.0)
    a, b = net.copy(), net.copy()
    a.partial_fit(np.array([0.1, 0.2, 0.3]), 1, lr=0.1)  # one example, class index
    b.partial_fit(np.array([[0.1, 0.2, 0.3]]), np.array([[0.0, 1.0]]), lr=0.1)
    np.testing.assert_array_equal(a.theta, b.theta)
    c = net.copy()
    c.partial_fit(np.array([0.1, 0.2, 0.3]), np.array([0.0, 1.0]), lr=0.1)
    np.testing.assert_array_equal(a.theta, c.theta)


def test_copy_is_independent():
    net = fastbp.Network([3, 4, 2], seed=0)
    other = net.copy()
    other.theta[0] += 1
    other.weights[1][0, 0] += 1
    assert net.theta[0] != other.theta[0]
    assert np.shares_memory(other.weights[0], other.theta)
    assert not np.shares_memory(other.theta, net.theta)


def test_copy_leaves_the_originals_shuffles_alone():
    X = np.random.default_rng(1).random((40, 3))
    Y = np.eye(2)[(X[:, 0] > 0.5).astype(int)]
    a, b = fastbp.Network([3, 4, 2], seed=0), fastbp.Network([3, 4, 2], seed=0)
    c1, c2 = a.copy(), a.copy()
    a.fit(X, Y, epochs=2)
    b.fit(X, Y, epochs=2)
    assert np.array_equal(a.theta, b.theta)
    c1.fit(X, Y, epochs=2)
    c2.fit(X, Y, epochs=2)
    assert not np.array_equal(c1.theta, c2.theta), "two copies shuffle alike"


def test_cost_and_grad_drives_plain_gradient_descent():
    X, y = make_prototypes(n_samples=60, n_features=6, n_classes=3, seed=5)
    net = fastbp.Network([6, 4, 3], output="softmax", seed=0)
    theta = net.theta.copy()
    J0, _ = net.cost_and_grad(theta, X, y)
    for _ in range(50):
        J, g = net.cost_and_grad(theta, X, y, 0.01)
        assert g.dtype == np.float64 and g.shape == theta.shape
        theta -= 0.5 * g
    assert net.cost_and_grad(theta, X, y)[0] < 0.8 * J0
    # the same full-batch descent through fit with one batch of all rows
    net.fit(X, y, epochs=50, lr=0.5, batch_size=60, l2=0.01, shuffle=False)
    np.testing.assert_allclose(net.theta, theta, rtol=1e-10, atol=1e-12)


def test_cost_and_grad_for_scipy_minimize():
    optimize = pytest.importorskip("scipy.optimize")
    X, y = make_prototypes(n_samples=120, n_features=8, n_classes=3, seed=4)
    net = fastbp.Network([8, 5, 3], output="softmax", seed=0)
    theta0 = net.theta.copy()
    J0, g0 = net.cost_and_grad(theta0, X, y, l2=1e-3)
    assert J0 == pytest.approx(net.loss(X, y, l2=1e-3))
    np.testing.assert_allclose(g0, net.gradient(X, y, l2=1e-3))
    res = optimize.minimize(net.cost_and_grad, theta0, args=(X, y, 1e-3), jac=True,
                            method="L-BFGS-B", options={"maxiter": 100})
    np.testing.assert_array_equal(net.theta, theta0)  # untouched by cost_and_grad
    assert res.fun < 0.5 * J0
    net.theta = res.x
    assert net.loss(X, y, l2=1e-3) == pytest.approx(res.fun)


def test_xor_example_runs():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "xor.py")],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "init=zeros" in proc.stdout and "all hidden units identical: True" in proc.stdout
    assert "all hidden units identical: False" in proc.stdout


def test_demo_command(capsys):
    from fastbp.cli import main

    rc = main(["demo", "--epochs", "2", "--n-samples", "600", "--baseline-samples", "100"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "epoch   2" in out and "final test accuracy" in out
    assert "samples/s" in out and "NumPy baseline" in out and "x the baseline" in out


def test_demo_command_rejects_bad_sizes(capsys):
    from fastbp.cli import main

    with pytest.raises(SystemExit):
        main(["demo", "--sizes", "64,x"])
    assert "--sizes must be comma-separated integers" in capsys.readouterr().err


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("output", ["sigmoid", "softmax", "identity"])
def test_partial_fit_fast_path_matches_the_general_path(dtype, output):
    # 1-D arrays of the network's dtype take the single-example fast path; lists do not
    from conftest import make_data

    X, Y = make_data(output, n=30, n_in=3, n_out=2, seed=1, dtype=dtype)
    fast = fastbp.Network([3, 4, 2], hidden="tanh", output=output, dtype=dtype, seed=0)
    slow = fast.copy()
    costs_fast = [fast.partial_fit(x, y, lr=0.1) for x, y in zip(X, Y)]
    costs_slow = [slow.partial_fit(x.tolist(), [y.tolist()], lr=0.1) for x, y in zip(X, Y)]
    np.testing.assert_array_equal(fast.theta, slow.theta)
    np.testing.assert_allclose(costs_fast, costs_slow, rtol=1e-6 if dtype == "float32" else 1e-14)


def test_partial_fit_fast_path_still_validates_and_restores():
    net = fastbp.Network([2, 3, 2], output="softmax", seed=0)
    before = net.theta.copy()
    x = np.array([0.1, 0.2])
    with pytest.raises(ValueError, match=r"X contains 1 non-finite value"):
        net.partial_fit(np.array([np.nan, 0.2]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"Y must lie in \[0, 1\]"):
        net.partial_fit(x, np.array([2.0, -1.0]))
    with pytest.raises(ValueError, match=r"rows must each sum to 1"):
        net.partial_fit(x, np.array([0.5, 0.2]))
    np.testing.assert_array_equal(net.theta, before)
    reg = fastbp.Network([2, 3, 1], hidden="identity", output="identity", seed=0)
    before = reg.theta.copy()
    with pytest.raises(fastbp.DivergenceError, match="epoch 1 of 1"):
        reg.partial_fit(np.array([1e200, 1e200]), np.array([-1e200]), lr=1.0)
    np.testing.assert_array_equal(reg.theta, before)
