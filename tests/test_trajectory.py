"""fastbp's kernels against the NumPy baseline, whole epochs at a time.

Both start from the same theta and visit the rows in the same order; after the epoch every
parameter must agree. The baseline shares no numerical code with the kernels.
"""
import numpy as np
import pytest

import fastbp
from fastbp import baseline as B

from conftest import COMBOS, make_data

SIZES = [4, 5, 3, 3]
MODES = [(1, 0.0), (1, 0.01), (4, 0.0), (4, 0.01), (7, 0.01)]  # (batch_size, l2); 7 leaves a short last batch


def run_both(hidden, output, loss, dtype, batch_size, l2, epochs=1, seed=0):
    X, Y = make_data(output, n=20, seed=seed, dtype=dtype)
    net = fastbp.Network(SIZES, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=seed)
    ref = B.BaselineNetwork(SIZES, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=seed)
    np.testing.assert_array_equal(net.theta, ref.theta)
    theta0 = net.theta.copy()
    h_fast = net.fit(X, Y, epochs=epochs, lr=0.1, batch_size=batch_size, l2=l2, seed=seed + 1)
    h_base = ref.fit(X, Y, epochs=epochs, lr=0.1, batch_size=batch_size, l2=l2, seed=seed + 1)
    moved = np.abs(net.theta - theta0).max()
    assert moved > 1e-3, "training did not move the parameters; the comparison would be empty"
    return net, ref, h_fast, h_base


@pytest.mark.parametrize("batch_size,l2", MODES)
@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_float64_trajectory_matches_baseline(hidden, output, loss, batch_size, l2):
    net, ref, h_fast, h_base = run_both(hidden, output, loss, np.float64, batch_size, l2)
    assert np.abs(net.theta - ref.theta).max() <= 1e-12
    np.testing.assert_allclose(h_fast.loss, h_base, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("hidden,output,loss", COMBOS[::5] + COMBOS[2::6])
def test_float64_trajectory_over_many_epochs(hidden, output, loss):
    # 30 epochs = 600 steps: differences of rounding must not grow into a different path
    net, ref, _, _ = run_both(hidden, output, loss, np.float64, 1, 0.001, epochs=30)
    assert np.abs(net.theta - ref.theta).max() <= 1e-12


# float32: both implementations round every operation to float32 (unit roundoff
# u = 6.0e-8) but in a different order (SIMD reassociation, fused multiply-add, NumPy's
# pairwise sums). One epoch here is 20 steps of ~5 dependent roundings per parameter on
# values of order 1, so independent roundoffs accumulate to about sqrt(20 * 5) * u * |theta|
# ~ 1e-6, and the sigmoid/softmax derivatives can amplify them by a small factor: 2e-5
# absolute on parameters of size <= 2 is that bound with a safety factor of ~10, still three
# orders of magnitude below the size of one update (lr * grad ~ 1e-2).
F32_ATOL = 2e-5


@pytest.mark.parametrize("batch_size,l2", MODES[:4])
@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_float32_trajectory_matches_baseline(hidden, output, loss, batch_size, l2):
    net, ref, _, _ = run_both(hidden, output, loss, np.float32, batch_size, l2)
    assert net.theta.dtype == np.float32 and ref.theta.dtype == np.float32
    assert np.abs(net.theta.astype(np.float64) - ref.theta).max() <= F32_ATOL


def test_float32_and_float64_follow_the_same_path():
    n64, _, _, _ = run_both("tanh", "softmax", "cross_entropy", np.float64, 1, 0.0)
    n32, _, _, _ = run_both("tanh", "softmax", "cross_entropy", np.float32, 1, 0.0)
    assert np.abs(n64.theta - n32.theta).max() <= 1e-4


@pytest.mark.parametrize("hidden,output,loss", COMBOS[::4])
def test_partial_fit_matches_baseline_in_given_order(hidden, output, loss):
    X, Y = make_data(output, n=15)
    net = fastbp.Network(SIZES, hidden=hidden, output=output, loss=loss, seed=3)
    theta = net.theta.copy()
    mean = net.partial_fit(X, Y, lr=0.05, l2=0.001)
    total = B.epoch(theta, net.layout, X, Y, np.arange(15), 0.05, 0.001, 1)
    assert np.abs(net.theta - theta).max() <= 1e-12
    reg = 0.5 * 0.001 * sum(float(np.sum(W * W)) for W in net.layout.weights(theta))
    assert mean == pytest.approx(total / 15 + reg, rel=1e-12)


@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_loss_gradient_and_predict_match_baseline(hidden, output, loss):
    X, Y = make_data(output, n=12)
    net = fastbp.Network(SIZES, hidden=hidden, output=output, loss=loss, seed=5)
    for l2 in (0.0, 0.3):
        assert net.loss(X, Y, l2) == pytest.approx(B.loss(net.theta, net.layout, X, Y, l2),
                                                   rel=1e-13, abs=1e-15)
        np.testing.assert_allclose(net.gradient(X, Y, l2),
                                   B.gradient(net.theta, net.layout, X, Y, l2),
                                   rtol=1e-12, atol=1e-15)
    expected = np.array([B.forward(net.theta, net.layout, x)[1][-1] for x in X])
    np.testing.assert_allclose(net.predict(X), expected, rtol=1e-13, atol=1e-15)


def test_medium_network_trajectory():
    # a wider net with a realistic input width, to exercise SIMD paths and remainders
    rng = np.random.default_rng(7)
    X = rng.random((50, 37))
    y = rng.integers(0, 10, 50)
    net = fastbp.Network([37, 29, 13, 10], hidden=["relu", "tanh"], output="softmax", seed=1)
    ref = B.BaselineNetwork([37, 29, 13, 10], hidden=["relu", "tanh"], output="softmax", seed=1)
    for bs in (1, 8):
        net.fit(X, y, epochs=2, lr=0.05, batch_size=bs, l2=1e-3, seed=bs)
        ref.fit(X, y, epochs=2, lr=0.05, batch_size=bs, l2=1e-3, seed=bs)
        assert np.abs(net.theta - ref.theta).max() <= 1e-12


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("l2", [0.0, 1e-3])
def test_rows_four_at_a_time_match_baseline(l2, dtype):
    # plain SGD updates rows of W with >= 8 inputs four per sweep (fastbp._blocks.four_rows),
    # the last 1-3 rows one by one: W^0 29 = 7*4 + 1 rows of 37 (the update fused with the
    # next forward pass), W^1 13 = 3*4 + 1 rows of 29 and W^2 10 = 2*4 + 2 rows of 13 (with
    # the deltas); one-example steps (partial_fit) update W^0 one row at a time (PLAIN)
    sizes, hidden = [37, 29, 13, 10], ["relu", "tanh"]
    X, Y = make_data("softmax", n=40, n_in=37, n_out=10, seed=6, dtype=dtype)
    net = fastbp.Network(sizes, hidden=hidden, output="softmax", seed=6, dtype=dtype)
    ref = B.BaselineNetwork(sizes, hidden=hidden, output="softmax", seed=6, dtype=dtype)
    tol = 1e-12 if dtype == np.float64 else F32_ATOL
    kw = dict(epochs=2, lr=0.05, batch_size=1, l2=l2, seed=3)
    theta0 = net.theta.copy()
    h_fast, h_base = net.fit(X, Y, **kw), ref.fit(X, Y, **kw)
    assert np.abs(net.theta - theta0).max() > 1e-3
    assert np.abs(net.theta.astype(np.float64) - ref.theta).max() <= tol
    np.testing.assert_allclose(h_fast.loss, h_base, rtol=1e-12 if dtype == np.float64 else 1e-5)
    theta = net.theta.copy()
    for i in range(6):
        net.partial_fit(X[i:i + 1], Y[i:i + 1], lr=0.05, l2=l2)
    B.epoch(theta, net.layout, X[:6], Y[:6], np.arange(6), 0.05, l2, 1)
    assert np.abs(net.theta.astype(np.float64) - theta).max() <= tol


@pytest.mark.parametrize("sizes,hidden,output", [([9, 8, 4], "tanh", "softmax"),
                                                 ([13, 12, 7, 5], "relu", "sigmoid"),
                                                 ([3, 1], "sigmoid", "identity")])
@pytest.mark.parametrize("batch_size", [2, 4, 5, 13, 32])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mini_batch_products_match_baseline(sizes, hidden, output, batch_size, dtype):
    # a batch runs as register-blocked products (fastbp._batch): blocks of four rows of W by
    # four examples, the rows left over, batches padded with zero rows to a multiple of four
    # (2, 5, 13 and the last batch of 37 rows); every parameter and cost against the baseline
    X, Y = make_data(output, n=37, n_in=sizes[0], n_out=sizes[-1], seed=4, dtype=dtype)
    net = fastbp.Network(sizes, hidden=hidden, output=output, seed=4, dtype=dtype)
    ref = B.BaselineNetwork(sizes, hidden=hidden, output=output, seed=4, dtype=dtype)
    theta0 = net.theta.copy()
    kw = dict(epochs=2, lr=0.1, batch_size=batch_size, l2=0.01, seed=1)
    h_fast, h_base = net.fit(X, Y, **kw), ref.fit(X, Y, **kw)
    assert np.abs(net.theta - theta0).max() > 1e-3
    tol = 1e-12 if dtype == np.float64 else F32_ATOL
    assert np.abs(net.theta.astype(np.float64) - ref.theta).max() <= tol
    np.testing.assert_allclose(h_fast.loss, h_base, rtol=1e-12 if dtype == np.float64 else 1e-5,
                               atol=1e-13)


@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_one_hidden_layer_fast_path_matches_baseline(hidden, output, loss):
    # per-example SGD without l2 on one hidden layer takes a specialised kernel
    X, Y = make_data(output, n=25, n_in=4, n_out=3, seed=2)
    net = fastbp.Network([4, 6, 3], hidden=hidden, output=output, loss=loss, seed=2)
    ref = B.BaselineNetwork([4, 6, 3], hidden=hidden, output=output, loss=loss, seed=2)
    h = net.fit(X, Y, epochs=3, lr=0.1, seed=1)
    ref_loss = ref.fit(X, Y, epochs=3, lr=0.1, seed=1)
    assert np.abs(net.theta - ref.theta).max() <= 1e-12
    np.testing.assert_allclose(h.loss, ref_loss, rtol=1e-12)
