"""Backpropagation against central differences for every activation x output x loss."""
import numpy as np
import pytest

import fastbp
from fastbp import baseline as B

from conftest import COMBOS, KINKED, make_data


def kink_distance(net, X):
    """Smallest |z| over the hidden pre-activations of the rows of X."""
    return min(np.abs(z).min() for x in X for z in B.forward(net.theta, net.layout, x)[0][1:-1])


@pytest.mark.parametrize("l2", [0.0, 0.1])
@pytest.mark.parametrize("hidden,output,loss", COMBOS)
def test_gradcheck_every_combination(hidden, output, loss, l2):
    # For the rectifier family, the first seed whose hidden pre-activations all stay 0.02
    # away from the kink: central differences with step eps (4 points reach 2 eps) move a
    # pre-activation by at most 2e-3 * (|x|_1 + sum |a|) ~ 2e-3 * 10, so none crosses z = 0.
    for seed in range(100):
        X, Y = make_data(output, n=5, seed=seed)
        net = fastbp.Network([4, 5, 3, 3], hidden=hidden, output=output, loss=loss, seed=seed)
        if hidden not in KINKED or kink_distance(net, X) > 0.02:
            break
    else:
        pytest.fail("no seed kept the data away from the kink")
    grad = net.gradient(X, Y, l2)
    assert np.abs(grad).max() > 1e-3, "gradient is ~0: the check would pass trivially"
    err = fastbp.gradcheck(net, X, Y, l2=l2)
    assert err < 1e-7


def test_gradcheck_detects_a_wrong_gradient(monkeypatch):
    X, Y = make_data("sigmoid", n=5)
    net = fastbp.Network([4, 5, 3], hidden="tanh", output="sigmoid", seed=0)
    good = net.gradient

    def wrong(X, Y, l2=0.0):
        g = good(X, Y, l2)
        g[3] *= 1.001
        return g

    monkeypatch.setattr(net, "gradient", wrong)
    assert fastbp.gradcheck(net, X, Y) > 1e-4


def test_gradcheck_float32_network_is_checked_in_float64():
    X, Y = make_data("softmax", n=5)
    net = fastbp.Network([4, 6, 3], hidden="tanh", output="softmax", dtype="float32", seed=0)
    err = fastbp.gradcheck(net, X, Y)
    # the float32 network's own gradient has float32 rounding (~1e-7 relative)
    assert err < 1e-4


def test_gradcheck_samples_large_networks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 30))
    y = rng.integers(0, 10, 3)
    net = fastbp.Network([30, 40, 10], hidden="tanh", output="softmax", seed=0)
    err, idx, g_num, g_bp = fastbp.gradcheck(net, X, y, max_params=200, return_details=True)
    assert 200 <= len(idx) <= 208 and len(np.unique(idx)) == len(idx)
    assert err < 1e-7


def test_numerical_gradient_two_point_also_agrees():
    X, Y = make_data("identity", n=4)
    net = fastbp.Network([4, 3, 3], hidden="sigmoid", output="identity", seed=0)
    g = fastbp.numerical_gradient(net, X, Y, eps=1e-6, points=2)
    np.testing.assert_allclose(g, net.gradient(X, Y), rtol=1e-5, atol=1e-8)
