"""Issue "Trust", parts 1 and 5: one network used from several threads; copies that stay
what they claim (pickle, copy.copy, copy.deepcopy, Network.copy, Population copies)."""
import contextlib
import copy
import inspect
import pickle
import threading

import numpy as np
import pytest

import fastbp
from conftest import two_threads
from fastbp.population import Population

REPEATS = 20


def data(n=2000, n_in=64, n_out=10, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    return X, Y


def run_together(*calls):
    """Run each call in its own thread, released together by a barrier; return the results
    (or the exceptions raised) in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        except Exception as exc:  # returned to the test, which checks it
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


# ---------------------------------------------------------------- evaluation from threads
EVALUATIONS = {
    "predict": lambda net, X, Y: net.predict(X),
    "loss": lambda net, X, Y: net.loss(X, Y, l2=1e-3),
    "gradient": lambda net, X, Y: net.gradient(X, Y, l2=1e-3),
    "cost_and_grad": lambda net, X, Y: net.cost_and_grad(net.theta * 0.5, X, Y),
}


@pytest.mark.parametrize("name", sorted(EVALUATIONS))
def test_two_threads_evaluating_one_network_get_the_single_threaded_results(name):
    f = EVALUATIONS[name]
    net = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    X, Y = data()
    Xa, Xb = X[:1000], 3 * X[1000:]
    Ya, Yb = Y[:1000], Y[1000:]
    want_a, want_b = f(net, Xa, Ya), f(net, Xb, Yb)
    for _ in range(REPEATS):
        got_a, got_b = run_together(lambda: f(net, Xa, Ya), lambda: f(net, Xb, Yb))
        for got, want in ((got_a, want_a), (got_b, want_b)):
            if isinstance(got, tuple):
                assert got[0] == want[0]
                np.testing.assert_array_equal(got[1], want[1])
            else:
                np.testing.assert_array_equal(got, want)


def test_predict_while_another_thread_fits_sees_the_same_theta_exactly():
    # lr=1e-300 leaves theta bit-identical, so any difference would come from shared scratch
    net = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    for b in net.biases:
        b[:] = 0.1  # biases of 0 would move to +-1e-298: no parameter may be that small
    X, Y = data()
    theta = net.theta.copy()
    want = net.predict(3 * X[:500])
    done = threading.Event()
    outputs = []

    def fit():
        try:
            return net.fit(X, Y, epochs=REPEATS, lr=1e-300)
        finally:
            done.set()

    def predict():
        while not done.is_set():
            outputs.append(net.predict(3 * X[:500]))

    history, _ = run_together(fit, predict)
    assert isinstance(history, fastbp.training.History) and len(history) == REPEATS
    np.testing.assert_array_equal(net.theta, theta)
    assert len(outputs) >= 1
    for out in outputs:
        np.testing.assert_array_equal(out, want)


# ---------------------------------------------------------------- training from threads
@contextlib.contextmanager
def training_held(net, X, Y):
    """Inside, another thread's fit of ``net`` is in its callback (the training lock is
    provably held); on exit the fit stops after that epoch and its thread is joined."""
    inside, release = threading.Event(), threading.Event()

    def callback(net, epoch, history):
        inside.set()
        release.wait(30)
        return True  # stop after this epoch

    holder = threading.Thread(target=lambda: net.fit(X, Y, epochs=5, lr=0.01, callback=callback))
    holder.start()
    try:
        assert inside.wait(30)
        yield
    finally:
        release.set()
        holder.join()


@pytest.mark.parametrize("second", ["fit", "partial_fit", "partial_fit_1d", "population"])
def test_a_second_training_while_one_runs_is_refused(second):
    X, Y = data(200)
    if second == "population":
        pop = Population([64, 32, 10], 2, output="softmax")
        net = pop.members[1]
    else:
        net = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    with training_held(net, X, Y):
        before = net.theta.copy()
        with pytest.raises(RuntimeError, match="being trained by another thread"):
            if second == "fit":
                net.fit(X, Y, epochs=1)
            elif second == "partial_fit":
                net.partial_fit(X, Y)
            elif second == "partial_fit_1d":
                net.partial_fit(X[0], Y[0], lr=0.1)
            else:
                pop.fit(X, Y, epochs=1)
        np.testing.assert_array_equal(net.theta, before)  # the refused call changed nothing
    net.fit(X, Y, epochs=1)  # the lock is free again
    if second == "population":
        pop.fit(X, Y, epochs=1)  # and every member's lock was released after the refusal


def test_two_fits_started_together_are_never_interleaved():
    X, Y = data(1000)
    start = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    kw = {"a": dict(epochs=3, lr=0.05, seed=1), "b": dict(epochs=3, lr=0.02, seed=2)}
    outcomes = {}
    for first, then in (("a", "b"), ("b", "a")):
        ref = start.copy()
        ref.fit(X, Y, **kw[first])
        outcomes[first] = ref.theta.copy()
        ref.fit(X, Y, **kw[then])
        outcomes[first + then] = ref.theta.copy()
    for _ in range(REPEATS):
        net = start.copy()
        ra, rb = run_together(lambda: net.fit(X, Y, **kw["a"]), lambda: net.fit(X, Y, **kw["b"]))
        errors = [r for r in (ra, rb) if isinstance(r, Exception)]
        assert all(isinstance(e, RuntimeError) for e in errors), errors
        if len(errors) == 1:  # refused: theta is the other fit's alone
            expected = outcomes["b"] if isinstance(ra, Exception) else outcomes["a"]
            np.testing.assert_array_equal(net.theta, expected)
        else:  # one after the other (the first finished before the second started)
            assert not errors
            assert any(np.array_equal(net.theta, outcomes[k]) for k in ("ab", "ba"))


def test_fit_callback_may_train_the_same_network_in_the_same_thread():
    X, Y = data(100)
    net = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    calls = []

    def callback(net, epoch, history):
        calls.append(net.partial_fit(X[0], Y[0], lr=0.01))
    net.fit(X, Y, epochs=2, lr=0.01, callback=callback)
    assert len(calls) == 2


def test_fit_keeps_its_signature_and_options_doc():
    params = inspect.signature(fastbp.Network.fit).parameters
    assert list(params)[:3] == ["self", "X", "Y"] and "lr" in params
    assert "Options" in fastbp.Network.fit.__doc__


# ---------------------------------------------------------------- copies
COPIES = {
    "pickle": lambda net: pickle.loads(pickle.dumps(net)),
    "deepcopy": copy.deepcopy,
    "copy.copy": copy.copy,
    "Network.copy": lambda net: net.copy(),
}


def scratch(net):
    return [net._ws.units, net._ws.grad, net._backup, net._lr_buf] + [
        a for ws in net._eval_ws for a in (ws.units, ws.grad)] + list(
        net.__dict__.get("_hogwild_ws", ()))


@two_threads
@pytest.mark.parametrize("how", sorted(COPIES))
def test_a_copy_has_views_of_its_own_theta_and_no_shared_scratch(how):
    X, Y = data(300)
    net = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    net.fit(X, Y, epochs=1, lr=0.05, n_threads=2, seed=0)  # leaves a Hogwild workspace
    net.predict(X)  # and an evaluation workspace
    new = COPIES[how](net)
    np.testing.assert_array_equal(new.theta, net.theta)
    assert not np.shares_memory(new.theta, net.theta)
    for W, b in zip(new.weights, new.biases):
        assert np.shares_memory(W, new.theta) and np.shares_memory(b, new.theta)
    for mine in scratch(new):
        assert not any(np.shares_memory(mine, theirs) for theirs in scratch(net))
    assert new._train_lock is not net._train_lock
    # writing to the copy's views changes its theta and nothing else
    theta = net.theta.copy()
    new.weights[0][0, 0] = 123.0
    new.biases[-1][0] = -7.0
    assert new.theta[0] == 123.0 and new.theta[-new.sizes[-1]] == -7.0
    np.testing.assert_array_equal(net.theta, theta)
    # training the copy moves its weights, not the original's
    W0 = new.weights[0].copy()
    new.fit(X, Y, epochs=1, lr=0.05, seed=0)
    assert not np.array_equal(new.weights[0], W0)
    np.testing.assert_array_equal(new.weights[0], new.theta[:W0.size].reshape(W0.shape))
    np.testing.assert_array_equal(net.theta, theta)
    np.testing.assert_array_equal(new.predict(X), COPIES["Network.copy"](new).predict(X))


def test_a_copy_made_while_the_original_trains_can_train():
    X, Y = data(200)
    net = fastbp.Network([64, 32, 10], output="softmax", seed=0)
    with training_held(net, X, Y):
        for how, make in COPIES.items():
            make(net).fit(X, Y, epochs=1)  # fresh lock: not held by the original's fit


POP_COPIES = {
    "pickle": lambda pop: pickle.loads(pickle.dumps(pop)),
    "deepcopy": copy.deepcopy,
    "copy.copy": copy.copy,
}


@pytest.mark.parametrize("how", sorted(POP_COPIES))
def test_a_copied_population_trains_its_members(how):
    X, Y = data(300)
    pop = Population([64, 32, 10], 3, output="softmax")
    thetas = pop.thetas.copy()
    new = POP_COPIES[how](pop)
    assert not np.shares_memory(new.thetas, pop.thetas)
    new.fit(X, Y, epochs=2, lr=0.05)
    assert not np.array_equal(new.thetas, thetas)
    np.testing.assert_array_equal(pop.thetas, thetas)  # the original did not move
    for r, m in enumerate(new.members):
        assert np.shares_memory(m.theta, new.thetas[r])
        np.testing.assert_array_equal(m.theta, new.thetas[r])
        np.testing.assert_array_equal(m.weights[0], new.layout.weights(new.thetas[r])[0])
    # predict follows the trained thetas (a network built from each row agrees)
    P = new.predict(X)
    for r in range(len(new)):
        alone = fastbp.Network([64, 32, 10], output="softmax")
        alone.theta = new.thetas[r]
        np.testing.assert_array_equal(P[r], alone.predict(X))
