"""One training step moves every parameter by exactly -lr x its central-difference gradient."""
import numpy as np
import pytest

import fastbp

from conftest import make_data


@pytest.mark.parametrize("hidden,output,loss", [("sigmoid", "sigmoid", "mse"),
                                                ("tanh", "softmax", "cross_entropy"),
                                                ("softplus", "identity", "mse")])
@pytest.mark.parametrize("l2", [0.0, 0.05])
def test_step_is_minus_lr_times_numerical_gradient(hidden, output, loss, l2):
    X, Y = make_data(output, n=1, seed=4)
    net = fastbp.Network([4, 5, 3], hidden=hidden, output=output, loss=loss, seed=4)
    g_num = fastbp.numerical_gradient(net, X, Y, l2=l2)
    # guard: every parameter must have a clearly non-zero gradient, or "moved by 0" passes
    assert np.abs(g_num).min() > 1e-6
    before = net.theta.copy()
    lr = 0.01
    net.partial_fit(X, Y, lr=lr, l2=l2)
    step = net.theta - before
    np.testing.assert_allclose(step, -lr * g_num, rtol=1e-7, atol=1e-13)


def test_minibatch_step_is_minus_lr_times_mean_gradient():
    X, Y = make_data("softmax", n=6, seed=9)
    net = fastbp.Network([4, 5, 3], hidden="tanh", output="softmax", seed=9)
    g_num = fastbp.numerical_gradient(net, X, Y, l2=0.01)
    before = net.theta.copy()
    net.partial_fit(X, Y, lr=0.02, batch_size=6, l2=0.01)
    np.testing.assert_allclose(net.theta - before, -0.02 * g_num, rtol=1e-7, atol=1e-13)
