"""Optimisers, schedules, validation and early stopping (issue 4), against the baseline."""
import itertools

import numpy as np
import pytest

import fastbp
from fastbp import baseline as B

from conftest import make_data

SIZES = [4, 5, 3, 3]
OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
SCHEDULES = [dict(schedule="constant"), dict(schedule="invscaling", power_t=0.5),
             dict(schedule="step", decay=0.5, step_size=2),
             dict(schedule="exponential", decay=0.7), dict(schedule="adaptive", tol=0.5)]


def pair(output="softmax", hidden="tanh", dtype="float64", seed=0):
    net = fastbp.Network(SIZES, hidden=hidden, output=output, dtype=dtype, seed=seed)
    ref = B.BaselineNetwork(SIZES, hidden=hidden, output=output, dtype=dtype, seed=seed)
    return net, ref


@pytest.mark.parametrize("l2", [0.0, 0.01])
@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("sched", range(len(SCHEDULES)))
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizer_and_schedule_trajectories_match_baseline(optimizer, sched, batch_size, l2):
    X, Y = make_data("softmax", n=20)
    net, ref = pair()
    theta0 = net.theta.copy()
    kw = dict(epochs=5, lr=0.05, batch_size=batch_size, l2=l2, seed=3, optimizer=optimizer,
              **SCHEDULES[sched])
    h = net.fit(X, Y, **kw)
    ref_loss = ref.fit(X, Y, **kw)
    assert np.abs(net.theta - theta0).max() > 1e-3
    assert np.abs(net.theta - ref.theta).max() <= 1e-12
    np.testing.assert_allclose(h.loss, ref_loss, rtol=1e-12)


@pytest.mark.parametrize("optimizer", OPTIMIZERS[1:])
def test_optimizers_float32(optimizer):
    X, Y = make_data("sigmoid", n=20, dtype=np.float32)
    net, ref = pair("sigmoid", "relu", "float32")
    kw = dict(epochs=3, lr=0.02, batch_size=1, seed=1, optimizer=optimizer)
    net.fit(X, Y, **kw)
    ref.fit(X, Y, **kw)
    # same float32 rounding argument as the SGD trajectories, over 60 steps
    assert np.abs(net.theta.astype(np.float64) - ref.theta).max() <= 5e-5


def test_schedule_lr_values_are_recorded():
    X, Y = make_data("softmax", n=10)
    net, _ = pair()
    h = net.fit(X, Y, epochs=5, lr=0.4, schedule="step", decay=0.5, step_size=2, seed=0)
    assert h.lr == [0.4, 0.4, 0.2, 0.2, 0.1]
    h = net.fit(X, Y, epochs=4, lr=0.4, schedule="invscaling", power_t=1.0, seed=0)
    assert h.lr == pytest.approx([0.4, 0.2, 0.4 / 3, 0.1])
    h = net.fit(X, Y, epochs=3, lr=0.4, schedule="exponential", decay=0.5, seed=0)
    assert h.lr == [0.4, 0.2, 0.1]


def test_adaptive_schedule_divides_by_five_after_stalled_epochs():
    X, Y = make_data("softmax", n=30)
    net, _ = pair()
    # tol larger than any improvement: every epoch counts as "no improvement" after the first
    h = net.fit(X, Y, epochs=7, lr=0.1, schedule="adaptive", tol=10.0, adaptive_patience=2,
                seed=0)
    assert h.lr == pytest.approx([0.1, 0.1, 0.1, 0.02, 0.02, 0.004, 0.004])
    # tol 0 on a steadily falling loss: never divided
    h = net.fit(X, Y, epochs=5, lr=0.01, schedule="adaptive", tol=0.0, seed=0)
    assert all(b < a for a, b in zip(h.loss, h.loss[1:]))
    assert h.lr == [0.01] * 5


def overfit_data(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(40, 10))
    y = rng.integers(0, 3, 40)  # labels unrelated to X: anything learned is overfitting
    Xv = rng.normal(size=(40, 10))
    yv = rng.integers(0, 3, 40)
    return X, y, Xv, yv


def test_early_stopping_restores_the_best_epoch_exactly():
    X, y, Xv, yv = overfit_data()
    net = fastbp.Network([10, 40, 3], hidden="tanh", output="softmax", seed=0)
    twin = net.copy()
    h = net.fit(X, y, epochs=200, lr=0.1, validation_data=(Xv, yv), early_stopping=True,
                patience=5, seed=1)
    assert h.stopped_early and len(h) < 200
    best = h.best_epoch
    assert best == int(np.argmin(h.val_loss)) + 1 and len(h) == best + 5
    # the same run without early stopping, cut at the best epoch, gives the same theta
    twin.fit(X, y, epochs=best, lr=0.1, validation_data=(Xv, yv), seed=1)
    np.testing.assert_array_equal(net.theta, twin.theta)
    assert net.loss(Xv, yv) == pytest.approx(min(h.val_loss), rel=1e-12)


def test_validation_history_and_fraction():
    X, y, Xv, yv = overfit_data(1)
    net = fastbp.Network([10, 8, 3], output="softmax", seed=0)
    h = net.fit(X, y, epochs=3, lr=0.1, validation_data=(Xv, yv), seed=0)
    assert len(h.val_loss) == len(h.val_accuracy) == 3
    assert all(0 <= a <= 1 for a in h.val_accuracy)
    assert h.val_loss[-1] == pytest.approx(net.loss(Xv, yv))
    h = net.fit(X, y, epochs=2, validation_fraction=0.25, seed=0)
    assert len(h.val_loss) == 2
    with pytest.raises(ValueError, match="either validation_data or validation_fraction"):
        net.fit(X, y, validation_data=(Xv, yv), validation_fraction=0.2)
    with pytest.raises(ValueError, match=r"validation_fraction must be in \(0, 1\), got 1.0"):
        net.fit(X, y, validation_fraction=1.0)
    with pytest.raises(ValueError, match=r"X_val has 9 columns"):
        net.fit(X, y, validation_data=(Xv[:, :9], yv))
    # regression outputs get a validation loss but no accuracy
    reg = fastbp.Network([10, 4, 1], output="identity", seed=0)
    h = reg.fit(X, y.astype(float), epochs=2, lr=0.01, validation_fraction=0.2, seed=0)
    assert len(h.val_loss) == 2 and h.val_accuracy == []


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(optimizer="rmsprop"), ValueError, r"optimizer must be one of .*'rmsprop'"),
    (dict(optimizer="momentum", momentum=1.0), ValueError, r"momentum must be in \[0, 1\)"),
    (dict(optimizer="adam", beta2=1.5), ValueError, r"beta2 must be in \[0, 1\), got 1.5"),
    (dict(epsilon=0), ValueError, r"epsilon must be > 0.0"),
    (dict(schedule="cosine"), ValueError, r"schedule must be one of .*'cosine'"),
    (dict(decay=2.0), ValueError, r"decay must be in \(0, 1\], got 2.0"),
    (dict(step_size=0), ValueError, r"step_size must be an integer >= 1, got 0"),
    (dict(patience=0), ValueError, r"patience must be an integer >= 1"),
    (dict(callback=3), TypeError, r"callback must be callable"),
    (dict(progress="yes"), TypeError, r"progress must be True or False"),
])
def test_training_options_are_validated(kwargs, exc, match):
    X, Y = make_data("softmax", n=10)
    net, _ = pair()
    before = net.theta.copy()
    with pytest.raises(exc, match=match):
        net.fit(X, Y, **kwargs)
    np.testing.assert_array_equal(net.theta, before)


def test_callback_and_progress(capsys):
    X, Y = make_data("softmax", n=10)
    net, _ = pair()
    seen = []

    def cb(n, epoch, history):
        seen.append((epoch, history.loss[-1]))
        return epoch == 3  # stop after the third epoch

    h = net.fit(X, Y, epochs=10, callback=cb, progress=True, seed=0)
    assert [e for e, _ in seen] == [1, 2, 3] and len(h) == 3 and h.stopped_early
    err = capsys.readouterr().err
    assert "epoch 1/10" in err and "epoch 3/10" in err and "samples/s" in err
    net.fit(X, Y, epochs=2, progress=False, seed=0)
    assert capsys.readouterr().err == ""


def test_chunked_kernel_calls_give_the_same_training():
    X, Y = make_data("softmax", n=50)
    for optimizer, bs in itertools.product(["sgd", "adam"], [1, 5]):
        a, _ = pair()
        b = a.copy()
        a.fit(X, Y, epochs=2, batch_size=bs, optimizer=optimizer, seed=2)
        b.fit(X, Y, epochs=2, batch_size=bs, optimizer=optimizer, seed=2, chunk_size=7)
        np.testing.assert_allclose(b.theta, a.theta, rtol=0, atol=1e-15)


def test_interrupt_leaves_a_consistent_model():
    X, Y = make_data("softmax", n=50)
    net, _ = pair()

    def cb(n, epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt) as info:
        net.fit(X, Y, epochs=5, callback=cb, seed=0)
    assert np.isfinite(net.theta).all()
    assert len(info.value.history) == 2 and net.history_ is info.value.history
    # the model is the one after epoch 2
    twin, _ = pair()
    twin.fit(X, Y, epochs=2, seed=0)
    np.testing.assert_array_equal(net.theta, twin.theta)


@pytest.mark.parametrize("batch_size", [1, 4])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("hidden", ["sigmoid", "tanh", "relu", "softplus"])
def test_dropout_trajectories_match_baseline(hidden, optimizer, batch_size):
    X, Y = make_data("softmax", n=20)
    net, ref = pair(hidden=hidden)
    kw = dict(epochs=3, lr=0.05, batch_size=batch_size, seed=5, optimizer=optimizer,
              dropout=[0.3, 0.5], l2=0.001, schedule="exponential", decay=0.8)
    h = net.fit(X, Y, **kw)
    ref_loss = ref.fit(X, Y, **kw)
    assert np.abs(net.theta - ref.theta).max() <= 1e-12
    np.testing.assert_allclose(h.loss, ref_loss, rtol=1e-12)


def test_dropout_masks_are_reproducible_and_drop_the_right_share():
    from fastbp import optim

    u = np.array([optim.uniform(7, s, k) for s in range(200) for k in range(50)])
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.01
    np.testing.assert_array_equal(u[:50], B.uniform(7, 0, np.arange(50)))
    X, Y = make_data("softmax", n=40)
    runs = []
    for _ in range(2):
        net, _ = pair()
        net.fit(X, Y, epochs=2, dropout=0.5, seed=11)
        runs.append(net.theta.copy())
    np.testing.assert_array_equal(runs[0], runs[1])
    other, _ = pair()
    other.fit(X, Y, epochs=2, dropout=0.5, seed=12)
    assert not np.array_equal(other.theta, runs[0])
    no_drop, _ = pair()
    no_drop.fit(X, Y, epochs=2, seed=11)
    assert not np.array_equal(no_drop.theta, runs[0])


def test_dropout_is_off_at_prediction_and_validated():
    X, Y = make_data("softmax", n=20)
    net, _ = pair()
    net.fit(X, Y, epochs=2, dropout=0.5, seed=0)
    np.testing.assert_array_equal(net.predict(X), net.predict(X))
    with pytest.raises(ValueError, match=r"dropout rates must be in \[0, 1\), got 1.0"):
        net.fit(X, Y, dropout=1.0)
    with pytest.raises(ValueError, match=r"dropout lists 3 rates but the network has 2 hidden"):
        net.fit(X, Y, dropout=[0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match=r"dropout\[1\] must be >= 0.0, got -0.1"):
        net.fit(X, Y, dropout=[0.1, -0.1])


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    import struct

    X, y, Xv, yv = overfit_data()
    net = fastbp.Network([10, 20, 3], hidden="tanh", output="softmax", seed=0)
    h = net.fit(X, y, epochs=30, lr=0.1, validation_data=(Xv, yv), early_stopping=True,
                patience=3, seed=0)
    path = h.plot(tmp_path / "curve.png")
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (640, 400) and len(data) > 5000
    with pytest.raises(ValueError, match="history is empty"):
        fastbp.History().plot(tmp_path / "empty.png")


@pytest.mark.parametrize("batch_size", [1, 3])
@pytest.mark.parametrize("sched", range(len(SCHEDULES)))
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_dropout_with_every_optimizer_and_schedule_matches_baseline(optimizer, sched, batch_size):
    X, Y = make_data("sigmoid", n=15)
    net, ref = pair(output="sigmoid", hidden="sigmoid", seed=2)
    kw = dict(epochs=4, lr=0.05, batch_size=batch_size, seed=9, optimizer=optimizer,
              dropout=0.25, **SCHEDULES[sched])
    h = net.fit(X, Y, **kw)
    ref_loss = ref.fit(X, Y, **kw)
    assert np.abs(net.theta - ref.theta).max() <= 1e-12
    np.testing.assert_allclose(h.loss, ref_loss, rtol=1e-12)
