"""Property-based tests: random architectures, activations and data (hypothesis)."""
import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import fastbp
from fastbp import baseline as B

from conftest import HIDDEN, OUTPUT_LOSS, make_data

architectures = st.lists(st.integers(1, 9), min_size=2, max_size=5)


@st.composite
def networks(draw):
    sizes = draw(architectures)
    output, loss = draw(st.sampled_from(OUTPUT_LOSS))
    if output == "softmax" and sizes[-1] < 2:
        sizes[-1] = 2
    hidden = [draw(st.sampled_from(HIDDEN)) for _ in sizes[1:-1]]
    init = draw(st.sampled_from(["glorot_uniform", "he_uniform", "normal"]))
    seed = draw(st.integers(0, 2**31))
    return fastbp.Network(sizes, hidden=hidden, output=output, loss=loss, init=init, seed=seed)


SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@SETTINGS
@given(net=networks(), data_seed=st.integers(0, 1000), batch_size=st.integers(1, 9),
       l2=st.sampled_from([0.0, 1e-3, 0.1]), lr=st.floats(1e-3, 0.5))
def test_any_network_matches_the_baseline(net, data_seed, batch_size, l2, lr):
    X, Y = make_data(net.output, n=13, n_in=net.sizes[0], n_out=net.sizes[-1], seed=data_seed)
    if net.output == "identity":
        Y *= 0.5
    theta = net.theta.copy()
    order = np.random.default_rng(data_seed).permutation(13)
    with np.errstate(all="ignore"):
        total = B.epoch(theta, net.layout, X, Y, order, lr, l2, batch_size)
    # unbounded (identity) chains with a large lr can blow up; divergence has its own tests
    assume(np.isfinite(total) and np.abs(theta).max() < 1e6)
    mean = net.partial_fit(X[order], Y[order], lr=lr, batch_size=batch_size, l2=l2)
    scale = max(1.0, np.abs(theta).max())
    assert np.abs(net.theta - theta).max() <= 1e-12 * scale
    reg = 0.5 * l2 * sum(float(np.sum(W * W)) for W in net.layout.weights(theta))
    assert abs(mean - (total / 13 + reg)) <= 1e-12 * max(1.0, abs(mean))


@SETTINGS
@given(net=networks())
def test_layout_tiles_theta(net):
    covered = np.zeros(net.n_params, dtype=int)
    for l in range(len(net.sizes) - 1):
        covered[net.layout.weight_slice(l)] += 1
        covered[net.layout.bias_slice(l)] += 1
        assert np.shares_memory(net.weights[l], net.theta)
    assert np.all(covered == 1)
    assert net.layout.n_units == sum(net.sizes) == net.workspace().a.shape[0]


@SETTINGS
@given(net=networks(), data_seed=st.integers(0, 1000))
def test_gradient_matches_baseline_and_costs_are_finite(net, data_seed):
    X, Y = make_data(net.output, n=5, n_in=net.sizes[0], n_out=net.sizes[-1], seed=data_seed)
    g = net.gradient(X, Y, 0.01)
    ref = B.gradient(net.theta, net.layout, X, Y, 0.01)
    np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-13)
    assert np.isfinite(net.loss(X * 1e3, Y))  # saturating inputs keep the cost finite
