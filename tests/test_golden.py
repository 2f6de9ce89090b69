"""A 3-2-1 network, one SGD step, every intermediate value written out.

sigmoid hidden, sigmoid output, quadratic cost C = 0.5 (a2 - y)^2, lr = 0.5.

    W1 = [[ 0.1, 0.2, -0.1],      b1 = [ 0.1, -0.2]      x = [1, 0.5, -1]
          [-0.3, 0.1,  0.2]]
    W2 = [[ 0.5, -0.4]]           b2 = [ 0.3]            y = [1]

    z1 = W1 x + b1 = [0.1 + 0.1 + 0.1 + 0.1, -0.3 + 0.05 - 0.2 - 0.2] = [0.4, -0.65]
    a1 = sigmoid(z1) = [0.598687660112452, 0.342989537326501]
    z2 = 0.5 a1_1 - 0.4 a1_2 + 0.3 = 0.462148015125626
    a2 = sigmoid(z2) = 0.613523621166546
    C  = 0.5 (a2 - 1)^2 = 0.0746819956981099
    delta2 = (a2 - y) a2 (1 - a2) = -0.0916383368732976
    delta1 = W2^T delta2 * a1 (1 - a1) = [-0.0110085475778460, 0.00826019591406219]
    dC/dW2 = delta2 a1^T = [-0.0548627414792712, -0.0314309907655424]
    dC/dW1 = delta1 x^T  = [[-0.0110085475778460, -0.00550427378892299,  0.0110085475778460],
                            [ 0.00826019591406219, 0.00413009795703109, -0.00826019591406219]]
    W2' = W2 - 0.5 dC/dW2 = [0.527431370739636, -0.384284504617229];  b2' = 0.345819168436649
    W1' = [[0.105504273788923, 0.202752136894461, -0.105504273788923],
           [-0.304130097957031, 0.0979349510214845, 0.204130097957031]]
    b1' = [0.105504273788923, -0.204130097957031]
"""
import numpy as np
import pytest

import fastbp
from fastbp import kernels

REL = 1e-13


@pytest.fixture
def net():
    net = fastbp.Network([3, 2, 1], hidden="sigmoid", output="sigmoid", loss="mse")
    net.weights[0][:] = [[0.1, 0.2, -0.1], [-0.3, 0.1, 0.2]]
    net.biases[0][:] = [0.1, -0.2]
    net.weights[1][:] = [[0.5, -0.4]]
    net.biases[1][:] = [0.3]
    return net


X = np.array([[1.0, 0.5, -1.0]])
Y = np.array([[1.0]])


def test_every_intermediate_value(net):
    ws = net.workspace()
    out = kernels.forward(net.theta, net.spec, ws, X[0])
    u = net.layout.u_off
    np.testing.assert_allclose(ws.z[u[1]:u[2]], [0.4, -0.65], rtol=REL)
    np.testing.assert_allclose(ws.a[u[1]:u[2]], [0.598687660112452, 0.342989537326501], rtol=REL)
    assert ws.z[u[2]] == pytest.approx(0.462148015125626, rel=REL)
    assert out[0] == pytest.approx(0.613523621166546, rel=REL)
    cost = kernels.output_delta(net.spec, ws, Y[0])
    assert cost == pytest.approx(0.0746819956981099, rel=REL)
    assert ws.delta[u[2]] == pytest.approx(-0.0916383368732976, rel=REL)

    grad = net.gradient(X, Y)
    np.testing.assert_allclose(net.layout.weights(grad)[1], [[-0.0548627414792712,
                                                              -0.0314309907655424]], rtol=REL)
    np.testing.assert_allclose(net.layout.biases(grad)[1], [-0.0916383368732976], rtol=REL)
    np.testing.assert_allclose(
        net.layout.weights(grad)[0],
        [[-0.0110085475778460, -0.00550427378892299, 0.0110085475778460],
         [0.00826019591406219, 0.00413009795703109, -0.00826019591406219]], rtol=REL)
    np.testing.assert_allclose(net.layout.biases(grad)[0],
                               [-0.0110085475778460, 0.00826019591406219], rtol=REL)
    assert net.loss(X, Y) == pytest.approx(0.0746819956981099, rel=REL)


def test_one_sgd_step(net):
    cost = net.partial_fit(X, Y, lr=0.5)
    assert cost == pytest.approx(0.0746819956981099, rel=REL)
    np.testing.assert_allclose(net.weights[1], [[0.527431370739636, -0.384284504617229]], rtol=REL)
    np.testing.assert_allclose(net.biases[1], [0.345819168436649], rtol=REL)
    np.testing.assert_allclose(net.weights[0], [[0.105504273788923, 0.202752136894461,
                                                 -0.105504273788923],
                                                [-0.304130097957031, 0.0979349510214845,
                                                 0.204130097957031]], rtol=REL)
    np.testing.assert_allclose(net.biases[0], [0.105504273788923, -0.204130097957031], rtol=REL)


def test_one_minibatch_step_of_one_example_is_the_same_step(net):
    other = net.copy()
    net.partial_fit(X, Y, lr=0.5)
    other.partial_fit(np.repeat(X, 3, axis=0), np.repeat(Y, 3, axis=0), lr=0.5, batch_size=3)
    np.testing.assert_allclose(other.theta, net.theta, rtol=1e-14)
