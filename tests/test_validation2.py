"""Trust, part 6: a failed call changes nothing, and inputs are checked in the network's dtype."""
import warnings

import numba
import numpy as np
import pytest

from fastbp import Network, Population
from fastbp.training import DivergenceError, History, population_history


def data(n=24, d=2, seed=0):
    X = np.random.default_rng(seed).normal(size=(n, d))
    return X, (X[:, :1] > 0).astype(float)


def state(net):
    return (net.theta.copy(), net.history_, net._rng.bit_generator.state)


# ------------------------------------------------------------ a failed fit changes nothing
@pytest.mark.parametrize("bad", [
    {"n_threads": 10**6}, {"n_threads": numba.config.NUMBA_NUM_THREADS + 1},
    {"lr": "0.1"}, {"l2": False}, {"epochs": 0}, {"validation_fraction": 0.999},
    {"validation_data": (np.ones((2, 3)), np.ones((2, 1)))},
])
def test_failed_fit_changes_nothing(bad):
    X, Y = data()
    net, fresh = Network([2, 3, 1], seed=1), Network([2, 3, 1], seed=1)
    net.fit(X, Y, epochs=1)
    fresh.fit(X, Y, epochs=1)
    theta, history, rng = state(net)
    with pytest.raises((ValueError, TypeError)):
        net.fit(X, Y, epochs=2, **bad)
    assert np.array_equal(net.theta, theta)
    assert net.history_ is history
    assert net._rng.bit_generator.state == rng
    net.fit(X, Y, epochs=2)
    fresh.fit(X, Y, epochs=2)
    assert np.array_equal(net.theta, fresh.theta)


def test_n_threads_above_the_pool_is_refused_by_name():
    X, Y = data()
    with pytest.raises(ValueError, match=r"n_threads must be at most \d+ \(numba's thread pool\)"):
        Network([2, 1]).fit(X, Y, n_threads=10**6)


# ------------------------------------------------------------ finite after the cast
def test_predict_refuses_values_beyond_float32():
    net = Network([1, 1], output="identity", dtype="float32")
    with pytest.raises(ValueError, match=r"X contains 1 value\(s\) that are not finite in float32"
                                         r" .*dtype='float64'"):
        net.predict([[1e39]])


def test_y_beyond_float32_is_refused_not_an_inf_loss():
    net = Network([1, 1], output="identity", dtype="float32")
    with pytest.raises(ValueError, match="Y contains .* not finite in float32"):
        net.loss([[1.0]], [[1e300]])
    theta = net.theta.copy()
    with pytest.raises(ValueError, match="Y contains .* not finite in float32"):
        net.fit([[1.0]], [[1e300]])
    assert np.array_equal(net.theta, theta) and net.history_ is None


def test_longdouble_beyond_float64_is_refused_not_divergence():
    big = np.array([[np.longdouble("1e400")]])
    if not np.isfinite(big).all():
        pytest.skip("longdouble is float64 on this platform")
    net = Network([1, 1], output="identity")
    with pytest.raises(ValueError, match=r"X contains .* not finite in float64 .*1e\+400"):
        net.fit(big, [[1.0]])
    with pytest.raises(ValueError, match="Y_val contains .* not finite in float64"):
        net.fit([[1.0]], [[1.0]], validation_data=([[1.0]], big))


def test_theta_beyond_float32_is_refused():
    net = Network([1, 1], dtype="float32")
    with pytest.raises(ValueError, match="theta contains .* not finite in float32"):
        net.theta = [1e39, 0.0]
    with pytest.raises(ValueError, match="theta contains .* not finite in float32"):
        net.cost_and_grad([1e39, 0.0], [[1.0]], [[1.0]])


def test_nan_input_keeps_its_message():
    with pytest.raises(ValueError, match="non-finite value.*Remove or impute"):
        Network([1, 1], dtype="float32").predict([[np.nan]])


def test_l2_beyond_float32_is_refused():
    net = Network([1, 1], dtype="float32")
    with pytest.raises(ValueError, match=r"l2=1e\+39 is not finite in float32"):
        net.loss([[1.0]], [[1.0]], l2=1e39)
    with pytest.raises(ValueError, match=r"l2=1e\+39 is not finite in float32"):
        net.fit([[1.0]], [[1.0]], l2=1e39)


# ------------------------------------------------------------ scalar options in the dtype
def test_lr_rounding_to_zero_in_float32_is_refused():
    X, Y = data()
    net = Network([2, 1], dtype="float32", seed=0)
    theta = net.theta.copy()
    with pytest.raises(ValueError, match=r"lr=1e-50 rounds to 0 in float32"):
        net.fit(X, Y, lr=1e-50)
    with pytest.raises(ValueError, match=r"lr=1e-50 rounds to 0 in float32"):
        net.partial_fit(X[0].astype(np.float32), Y[0].astype(np.float32), lr=1e-50)
    with pytest.raises(ValueError, match=r"lr\[1\]=1e-50 rounds to 0 in float32"):
        Population([2, 1], 2, dtype="float32").fit(X, Y, lr=[0.1, 1e-50])
    assert np.array_equal(net.theta, theta)
    Network([2, 1]).fit(X, Y, lr=1e-50)  # a float64 network holds it


def test_lr_beyond_float32_is_refused():
    X, Y = data()
    with pytest.raises(ValueError, match=r"lr=1e\+39 is not finite in float32"):
        Network([2, 1], dtype="float32").fit(X, Y, lr=1e39)


def test_betas_rounding_to_one_in_float32_are_refused():
    X, Y = data()
    with pytest.raises(ValueError, match="beta2=0.99999999 rounds to 1 in float32"):
        Network([2, 1], dtype="float32").fit(X, Y, optimizer="adam", beta2=0.99999999)
    with pytest.raises(ValueError, match="epsilon=1e-50 rounds to 0 in float32"):
        Network([2, 1], dtype="float32").fit(X, Y, optimizer="adam", epsilon=1e-50)


@pytest.mark.parametrize("lr, kind, match", [
    ("0.1", TypeError, "lr must be a real number, got '0.1' of type str"),
    (True, TypeError, "lr must be a real number, got True of type bool"),
    ("abc", TypeError, "lr must be a real number, got 'abc' of type str"),
    (-1.0, ValueError, r"lr must be > 0.0, got -1.0"),
])
def test_population_refuses_lr_as_network_fit_does(lr, kind, match):
    X, Y = data()
    pop = Population([2, 1], 2)
    thetas = pop.thetas.copy()
    with pytest.raises(kind, match=match):
        pop.fit(X, Y, lr=lr)
    with pytest.raises(kind, match=match):
        Network([2, 1]).fit(X, Y, lr=lr)
    assert np.array_equal(pop.thetas, thetas)


def test_population_per_member_lr_names_the_member():
    X, Y = data()
    with pytest.raises(TypeError, match=r"lr\[1\] must be a real number, got 'abc'"):
        Population([2, 1], 2).fit(X, Y, lr=[0.1, "abc"])
    with pytest.raises(ValueError, match=r"lr must be one number or 2 \(one per member\)"):
        Population([2, 1], 2).fit(X, Y, lr=[0.1, 0.2, 0.3])


@pytest.mark.parametrize("l2", [False, np.False_])
def test_partial_fit_refuses_a_bool_l2_as_fit_does(l2):
    X, Y = data()
    net = Network([2, 1], seed=0)
    theta = net.theta.copy()
    with pytest.raises(TypeError, match="l2 must be a real number"):
        net.partial_fit(X[0], Y[0], l2=l2)
    with pytest.raises(TypeError, match="l2 must be a real number"):
        net.fit(X, Y, l2=l2)
    assert np.array_equal(net.theta, theta)
    net.partial_fit(X[0], Y[0], l2=0)  # an integer 0 is a real number


# ------------------------------------------------------------ divergence reports
@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the divergence, with JIT off
def test_population_divergence_history_is_a_history():
    X, Y = data()
    pop = Population([2, 1], 2, output="identity")
    with pytest.raises(DivergenceError) as err:
        pop.fit(X, Y * 1e150, lr=[1e100, 0.1], epochs=3)
    assert isinstance(err.value.history, History)
    assert len(err.value.history) == err.value.epoch - 1
    assert np.isfinite(pop.thetas).all()


def test_population_history_holds_each_members_losses():
    X, Y = data()
    losses = Population([2, 1], 2, output="identity").fit(X, Y, lr=[0.1, 0.05], epochs=2)
    history = population_history(losses, np.array([0.1, 0.05], dtype=np.float32))
    assert np.array_equal(np.asarray(history.loss), losses) and len(history) == 2
    assert np.allclose(history.lr[0], [0.1, 0.05]) and "last loss [" in repr(history)


def test_callback_writing_nan_is_restored_and_said_so():
    X, Y = data()
    net = Network([2, 3, 1], seed=0)
    seen = []

    def poison(n, epoch, history):
        seen.append(n.theta.copy())
        n.theta[0] = np.nan  # in place: bypasses the setter's check

    with pytest.raises(DivergenceError, match="callback left non-finite values .* after epoch "
                                              "1 of 3; theta was restored to its state before "
                                              "the callback") as err:
        net.fit(X, Y, epochs=3, callback=poison)
    assert err.value.epoch == 1 and isinstance(err.value.history, History)
    assert np.array_equal(net.theta, seen[0])


def test_training_refuses_a_theta_made_non_finite_in_place():
    X, Y = data()
    net = Network([2, 1], seed=0)
    net.theta[1] = np.inf
    with pytest.raises(ValueError, match="theta holds 1 non-finite value.*index 1.*before training"):
        net.fit(X, Y)
    assert net.history_ is None


def test_population_refuses_a_member_made_non_finite_in_place():
    X, Y = data()
    pop = Population([2, 1], 3)
    pop.members[2].theta[0] = np.nan
    before = pop.thetas.copy()
    with pytest.raises(ValueError, match=r"members\[2\]\.theta holds 1 non-finite value.*index 0"):
        pop.fit(X, Y)
    assert np.array_equal(pop.thetas, before, equal_nan=True)


def test_partial_fit_huge_lr_in_float32_is_refused_without_a_cast_warning():
    net = Network([2, 1], dtype="float32", seed=0)
    theta = net.theta.copy()
    x, y = np.ones(2, np.float32), np.ones(1, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "overflow encountered in cast" on the way
        with pytest.raises(ValueError, match=r"lr=1e\+39 is not finite in float32"):
            net.partial_fit(x, y, lr=1e39)
    assert np.array_equal(net.theta, theta)
