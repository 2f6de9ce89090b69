"""Bad input fails early with a message naming the parameter, the value and what is allowed,
and never changes the model."""
import numpy as np
import pytest

import fastbp


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(sizes=[3]), ValueError, r"sizes must list at least 2 layers.*\[3\]"),
    (dict(sizes=5), TypeError, r"sizes must be a sequence.*got 5"),
    (dict(sizes="3,2"), TypeError, r"sizes must be a sequence"),
    (dict(sizes=[3, 0, 1]), ValueError, r"sizes\[1\] must be a positive integer, got 0"),
    (dict(sizes=[3, 2.5, 1]), TypeError, r"sizes\[1\] must be a positive integer, got 2.5"),
    (dict(sizes=[3, True]), TypeError, r"sizes\[1\] must be a positive integer, got True"),
    (dict(sizes=[3, 2, 1], hidden="sigmod"), ValueError, r"hidden must be one of .*'sigmod'"),
    (dict(sizes=[3, 2, 1], hidden=["tanh", "relu"]), ValueError,
     r"hidden lists 2 activations but sizes \[3, 2, 1\] has 1 hidden layer"),
    (dict(sizes=[3, 2, 2, 1], hidden=["tanh", "softmax"]), ValueError,
     r"hidden\[1\] must be one of .*'softmax'"),
    (dict(sizes=[3, 2, 1], output="relu"), ValueError, r"output must be one of .*'relu'"),
    (dict(sizes=[3, 2, 1], loss="hinge"), ValueError, r"loss must be one of .*'hinge'"),
    (dict(sizes=[3, 2, 1], output="identity", loss="cross_entropy"), ValueError,
     r"cross_entropy' needs a sigmoid or softmax output, got output='identity'"),
    (dict(sizes=[3, 2, 1], output="softmax"), ValueError, r"softmax output needs at least 2"),
    (dict(sizes=[3, 2, 1], init="xavier"), ValueError, r"init must be one of .*'xavier'"),
    (dict(sizes=[3, 2, 1], dtype="float16"), ValueError, r"dtype must be 'float64' or 'float32'"),
    (dict(sizes=[3, 2, 1], dtype="int32"), ValueError, r"dtype must be .*int32"),
    (dict(sizes=[3, 2, 1], seed=-1), ValueError, r"seed must be a non-negative integer, got -1"),
    (dict(sizes=[3, 2, 1], seed="a"), TypeError, r"seed must be None, a non-negative integer"),
])
def test_constructor_rejects(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fastbp.Network(**kwargs)


@pytest.fixture
def net():
    return fastbp.Network([3, 4, 2], hidden="tanh", output="sigmoid", seed=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 3)), rng.random((6, 2))


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(lr=0), ValueError, r"lr must be > 0.0, got 0.0"),
    (dict(lr=-0.1), ValueError, r"lr must be > 0.0, got -0.1"),
    (dict(lr=float("nan")), ValueError, r"lr must be finite, got nan"),
    (dict(lr=float("inf")), ValueError, r"lr must be finite, got inf"),
    (dict(lr="0.1"), TypeError, r"lr must be a real number, got '0.1'"),
    (dict(epochs=0), ValueError, r"epochs must be an integer >= 1, got 0"),
    (dict(epochs=2.0), TypeError, r"epochs must be an integer >= 1, got 2.0"),
    (dict(epochs=True), TypeError, r"epochs must be an integer"),
    (dict(batch_size=0), ValueError, r"batch_size must be an integer >= 1, got 0"),
    (dict(batch_size=1.5), TypeError, r"batch_size must be an integer >= 1, got 1.5"),
    (dict(l2=-1e-3), ValueError, r"l2 must be >= 0.0, got -0.001"),
    (dict(l2=float("nan")), ValueError, r"l2 must be finite"),
    (dict(shuffle="yes"), TypeError, r"shuffle must be True or False, got 'yes'"),
    (dict(seed=1.5), TypeError, r"seed must be None"),
])
def test_fit_rejects_bad_hyperparameters_without_changing_theta(net, data, kwargs, exc, match):
    before = net.theta.copy()
    with pytest.raises(exc, match=match):
        net.fit(*data, **kwargs)
    np.testing.assert_array_equal(net.theta, before)


def bad_xy(data):
    X, Y = data
    Xnan = X.copy()
    Xnan[2, 1] = np.nan
    Yinf = Y.copy()
    Yinf[4, 0] = np.inf
    return [
        ((X[:, :2], Y), ValueError, r"X has 2 columns but the network's input layer has sizes\[0\] = 3"),
        ((X[0], Y[:1]), ValueError, r"X must be 2-dimensional \(n_samples, n_inputs\), got shape \(3,\)"),
        ((X[:, :, None], Y), ValueError, r"X must be 2-dimensional"),
        ((X[:0], Y[:0]), ValueError, r"X has no rows"),
        ((Xnan, Y), ValueError, r"X contains 1 non-finite value.*nan at index \(2, 1\)"),
        ((X.astype(complex), Y), TypeError, r"X must hold real numbers .*complex128"),
        ((np.array([["a", "b", "c"]] * 6), Y), TypeError, r"X must hold real numbers"),
        ((X, Y[:5]), ValueError, r"Y has 5 rows but X has 6"),
        ((X, Y[:, :1]), ValueError, r"Y has 1 columns but the network's output layer has sizes\[-1\] = 2"),
        ((X, Yinf), ValueError, r"Y contains 1 non-finite value.*index \(4, 0\)"),
        ((X, Y + 1.0), ValueError, r"Y must lie in \[0, 1\] for cross_entropy with a sigmoid output"),
        ((X, -Y), ValueError, r"Y must lie in \[0, 1\]"),
    ]


@pytest.mark.parametrize("case", range(12))
def test_fit_rejects_bad_data_without_changing_theta(net, data, case):
    args, exc, match = bad_xy(data)[case]
    before = net.theta.copy()
    with pytest.raises(exc, match=match):
        net.fit(*args)
    if case != 1:  # partial_fit takes a single 1-D example on purpose
        with pytest.raises(exc, match=match):
            net.partial_fit(*args)
    np.testing.assert_array_equal(net.theta, before)


def test_loss_and_gradient_validate_too(net, data):
    X, Y = data
    with pytest.raises(ValueError, match="l2 must be >= 0.0"):
        net.loss(X, Y, l2=-1)
    with pytest.raises(ValueError, match="Y must lie in"):
        net.gradient(X, Y * 3)
    with pytest.raises(ValueError, match="X has 4 columns"):
        net.predict(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"theta must have shape \(26,\) for sizes \[3, 4, 2\], got \(21,\)"):
        net.cost_and_grad(np.zeros(21), X, Y)
    with pytest.raises(ValueError, match=r"theta contains 1 non-finite"):
        net.cost_and_grad(np.r_[np.zeros(25), np.nan], X, Y)


def test_softmax_targets(data):
    X, _ = data
    net = fastbp.Network([3, 4, 3], output="softmax", seed=0)
    with pytest.raises(ValueError, match=r"Y holds class index 3 at row 2; class indices must lie in 0 .. 2"):
        net.fit(X, np.array([0, 1, 3, 0, 1, 2]))
    with pytest.raises(ValueError, match=r"class index -1"):
        net.fit(X, np.array([0, 1, -1, 0, 1, 2]))
    with pytest.raises(TypeError, match=r"read as class indices .* must then hold integers; got dtype float64"):
        net.fit(X, np.array([0.0, 1, 2, 0, 1, 2]))
    with pytest.raises(ValueError, match=r"Y has 5 class indices but X has 6 rows"):
        net.fit(X, np.array([0, 1, 2, 0, 1]))
    rows = np.full((6, 3), 0.5)
    with pytest.raises(ValueError, match=r"rows must each sum to 1 .* row 0 sums to 1.5"):
        net.fit(X, rows)
    # one-hot and class indices give the same training
    y = np.array([0, 1, 2, 2, 1, 0])
    a, b = net.copy(), net.copy()
    a.fit(X, y, epochs=2, seed=1)
    b.fit(X, np.eye(3)[y], epochs=2, seed=1)
    np.testing.assert_array_equal(a.theta, b.theta)


def test_inputs_are_converted_not_mutated():
    net = fastbp.Network([2, 3, 1], output="sigmoid", dtype="float32", seed=0)
    X = np.array([[0, 1], [1, 0]])  # int input is accepted and converted
    Y = [[1.0], [0.0]]  # lists too
    net.fit(X, Y, epochs=2)
    assert net.theta.dtype == np.float32
    X64 = np.array([[0.5, 0.25]])
    assert net.predict(X64).dtype == np.float32
    assert X64.dtype == np.float64  # the caller's array is untouched
    # Fortran-ordered and non-contiguous input work
    Xf = np.asfortranarray(np.random.default_rng(0).normal(size=(5, 2)))
    np.testing.assert_allclose(net.predict(Xf), net.predict(np.ascontiguousarray(Xf)))
    np.testing.assert_allclose(net.predict(Xf[::2]), net.predict(np.ascontiguousarray(Xf[::2])))
