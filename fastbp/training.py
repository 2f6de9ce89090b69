"""The outer training loop: Python between kernel calls.

One kernel call trains one chunk of an epoch (``chunk_size`` rows); between calls Python
applies the learning-rate schedule, measures validation loss, decides on early stopping,
reports progress, calls the user's callback, checks for divergence and lets Ctrl-C
through. Nothing here touches a single example.

Schedules (lr for epoch e = 1, 2, ...):
- constant:    lr
- invscaling:  lr / e^power_t
- step:        lr * decay^floor((e - 1) / step_size)
- exponential: lr * decay^(e - 1)
- adaptive:    lr, divided by 5 each time ``adaptive_patience`` consecutive epochs fail to
               lower the monitored loss by at least ``tol`` (scikit-learn's "adaptive")
"""
import math
import sys
import time

import numpy as np

from . import _validation as v
from . import kernels, optim

SCHEDULES = ("constant", "invscaling", "step", "exponential", "adaptive")
OPTIMIZERS = tuple(optim.CODES)


class History:
    """What ``fit`` measured, one entry per completed epoch.

    loss: mean training cost of the epoch's examples, each measured just before its own
    update (as scikit-learn's ``loss_curve_``; with dropout active), plus (l2/2) * sum(W^2)
    at the epoch's end. val_loss, val_accuracy: on the validation data after the epoch
    (empty lists without validation data; accuracy only for sigmoid/softmax outputs).
    lr: the learning rate used in the epoch. seconds: wall time of the epoch's kernel
    calls; samples_per_second: rows / seconds. best_epoch: the epoch whose parameters were
    kept by early stopping (None without it); stopped_early, interrupted: why it ended.
    """

    KEYS = ("loss", "val_loss", "val_accuracy", "lr", "seconds", "samples_per_second")

    def __init__(self):
        for k in self.KEYS:
            setattr(self, k, [])
        self.best_epoch = None
        self.stopped_early = False
        self.interrupted = False

    def __len__(self):
        return len(self.loss)

    def __getitem__(self, key):
        if key not in self.KEYS:
            raise KeyError(f"history has no {key!r}; it records {self.KEYS}")
        return getattr(self, key)

    def as_dict(self):
        return {k: list(getattr(self, k)) for k in self.KEYS}

    def __repr__(self):
        last = f", last loss {self.loss[-1]:.6g}" if self.loss else ""
        best = f", best epoch {self.best_epoch}" if self.best_epoch else ""
        return f"History({len(self)} epochs{last}{best})"

    def plot(self, path, title=None):
        """Write a PNG of training and validation loss per epoch, marking the best epoch.

        Needs matplotlib (``pip install fastbp[plot]``).
        """
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as exc:
            raise ImportError("History.plot needs matplotlib: pip install 'fastbp[plot]'") from exc
        if not self.loss:
            raise ValueError("history is empty: nothing to plot")
        epochs = np.arange(1, len(self.loss) + 1)
        fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=100)
        ax.plot(epochs, self.loss, label="training loss")
        if self.val_loss:
            ax.plot(epochs[:len(self.val_loss)], self.val_loss, label="validation loss")
        best = self.best_epoch
        if best is None and self.val_loss:
            best = int(np.argmin(self.val_loss)) + 1
        if best is not None:
            ax.axvline(best, color="grey", linestyle="--", linewidth=1,
                       label=f"best epoch ({best})")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.set_yscale("log" if min(self.loss) > 0 else "linear")
        ax.set_title(title or "learning curve")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, format="png")
        plt.close(fig)
        return path


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or parameters; theta was restored.

    Attributes: ``epoch`` (1-based) where it happened and ``history`` up to the last good epoch.
    """

    def __init__(self, message, epoch, history):
        super().__init__(message)
        self.epoch = epoch
        self.history = history


def diverged(epoch, epochs, mean, lr, history):
    """The DivergenceError for a non-finite loss or parameters at ``epoch``."""
    what = "the training loss" if not np.isfinite(mean) else "the parameters"
    return DivergenceError(
        f"training diverged at epoch {epoch} of {epochs}: {what} became non-finite "
        f"(loss {mean}). theta was restored to its state before that epoch. Try a smaller lr "
        f"(got {lr}), scaling the inputs (standardise X to zero mean and unit variance), or "
        f"a larger l2.", epoch, history)


def check_dropout(dropout, n_hidden):
    """Drop rates, one per hidden layer, from None, one rate or a sequence of rates."""
    if dropout is None:
        return [0.0] * n_hidden
    if np.ndim(dropout) == 0:
        rates = [dropout] * n_hidden
    else:
        rates = list(dropout)
        if len(rates) != n_hidden:
            raise ValueError(f"dropout lists {len(rates)} rates but the network has {n_hidden} "
                             f"hidden layer(s); give one rate or one per hidden layer")
    out = []
    for i, r in enumerate(rates):
        r = v.check_real(f"dropout[{i}]" if np.ndim(dropout) else "dropout", r, minimum=0.0)
        if r >= 1:
            raise ValueError(f"dropout rates must be in [0, 1), got {r}")
        out.append(r)
    return out


def schedule_lr(name, lr, epoch, power_t=0.5, decay=0.1, step_size=10):
    """The learning rate of ``epoch`` (1-based) for the non-adaptive schedules."""
    if name == "invscaling":
        return lr / epoch ** power_t
    if name == "step":
        return lr * decay ** ((epoch - 1) // step_size)
    if name == "exponential":
        return lr * decay ** (epoch - 1)
    return lr  # constant; adaptive starts constant


def accuracy(net, P, Y):
    """Fraction of rows classified right (softmax: argmax; sigmoid: every unit at 0.5)."""
    if net.output == "softmax":
        return float(np.mean(P.argmax(axis=1) == Y.argmax(axis=1)))
    return float(np.mean(np.all((P > 0.5) == (Y > 0.5), axis=1)))


class _Progress:
    """One line per epoch on stderr; nothing at all when off."""

    def __init__(self, enabled, epochs, stream=None):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.epochs = epochs

    def epoch(self, e, h):
        if not self.enabled:
            return
        parts = [f"epoch {e}/{self.epochs}", f"loss {h.loss[-1]:.5g}"]
        if h.val_loss:
            parts.append(f"val_loss {h.val_loss[-1]:.5g}")
        if h.val_accuracy:
            parts.append(f"val_acc {h.val_accuracy[-1]:.2%}")
        parts += [f"lr {h.lr[-1]:.3g}", f"{h.samples_per_second[-1]:,.0f} samples/s"]
        print("  ".join(parts), file=self.stream, flush=True)


def fit(net, X, Y, epochs=1, lr=0.1, batch_size=1, l2=0.0, shuffle=True, seed=None,
        optimizer="sgd", momentum=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8,
        schedule="constant", power_t=0.5, decay=0.1, step_size=10, tol=1e-4,
        adaptive_patience=2, validation_data=None, validation_fraction=None,
        early_stopping=False, patience=10, min_delta=0.0, progress=None, callback=None,
        chunk_size=65536, dropout=None, n_threads=None):
    """``Network.fit``; see there."""
    epochs = v.check_int("epochs", epochs)
    lr = v.check_real("lr", lr, minimum=0.0, strict=True)
    batch_size = v.check_int("batch_size", batch_size)
    l2 = v.check_real("l2", l2, minimum=0.0)
    shuffle = v.check_bool("shuffle", shuffle)
    seed = v.check_seed("seed", seed)
    v.check_choice("optimizer", optimizer, optim.CODES)
    momentum = v.check_real("momentum", momentum, minimum=0.0)
    if momentum >= 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    for name, val in (("beta1", beta1), ("beta2", beta2)):
        val = v.check_real(name, val, minimum=0.0)
        if val >= 1:
            raise ValueError(f"{name} must be in [0, 1), got {val}")
    epsilon = v.check_real("epsilon", epsilon, minimum=0.0, strict=True)
    v.check_choice("schedule", schedule, SCHEDULES)
    power_t = v.check_real("power_t", power_t, minimum=0.0)
    decay = v.check_real("decay", decay, minimum=0.0, strict=True)
    if decay > 1:
        raise ValueError(f"decay must be in (0, 1], got {decay}")
    step_size = v.check_int("step_size", step_size)
    tol = v.check_real("tol", tol, minimum=0.0)
    adaptive_patience = v.check_int("adaptive_patience", adaptive_patience)
    early_stopping = v.check_bool("early_stopping", early_stopping)
    patience = v.check_int("patience", patience)
    min_delta = v.check_real("min_delta", min_delta, minimum=0.0)
    chunk_size = v.check_int("chunk_size", chunk_size)
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    progress = v.check_bool("progress", progress)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable (net, epoch, history) -> bool, got "
                        f"{callback!r}")
    if validation_data is not None and validation_fraction is not None:
        raise ValueError("give either validation_data or validation_fraction, not both")
    if validation_fraction is not None:
        validation_fraction = v.check_real("validation_fraction", validation_fraction,
                                           minimum=0.0, strict=True)
        if validation_fraction >= 1:
            raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    if early_stopping and validation_data is None and validation_fraction is None:
        validation_fraction = 0.1
    rates = check_dropout(dropout, len(net.sizes) - 2)
    if n_threads is not None:
        n_threads = v.check_int("n_threads", n_threads)
        if n_threads > 1 and (optimizer != "sgd" or any(r > 0 for r in rates)
                              or batch_size != 1):
            raise ValueError(f"n_threads={n_threads} (Hogwild) runs plain per-example SGD: "
                             f"it needs optimizer='sgd', batch_size=1 and no dropout")

    X, Y = net._xy(X, Y)
    rng = net._rng if seed is None else np.random.default_rng(seed)
    Xv = Yv = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("validation_data must be a pair (X_val, Y_val)")
        Xv, _ = v.check_X(validation_data[0], net.sizes[0], net.dtype, name="X_val")
        Yv = v.check_Y(validation_data[1], Xv.shape[0], net.sizes[-1], net.output,
                       net.loss_name, net.dtype, name="Y_val")
    elif validation_fraction is not None:
        n_val = int(math.ceil(validation_fraction * X.shape[0]))
        if n_val < 1 or n_val >= X.shape[0]:
            raise ValueError(f"validation_fraction {validation_fraction} of {X.shape[0]} rows "
                             f"leaves {X.shape[0] - n_val} for training and {n_val} for "
                             f"validation; both need at least one")
        perm = rng.permutation(X.shape[0])
        Xv, Yv = X[perm[-n_val:]], Y[perm[-n_val:]]
        X, Y = np.ascontiguousarray(X[perm[:-n_val]]), np.ascontiguousarray(Y[perm[:-n_val]])

    n = X.shape[0]
    dt = net.dtype.type
    state = drop = None
    if any(r > 0 for r in rates):
        drop = optim.make_dropout(rates, len(net.sizes), net.dtype, rng.integers(2**63))
    if optimizer != "sgd" or drop is not None:
        state = optim.make_state(optimizer, net.n_params, net.dtype, lr, l2, momentum, beta1,
                                 beta2, epsilon)
        if drop is None:
            drop = optim.make_dropout(rates, len(net.sizes), net.dtype, 0)
    chunk = max(batch_size, chunk_size // batch_size * batch_size)
    batch_units = net.layout.batch_units(min(batch_size, n), net.dtype) if batch_size > 1 \
        else None
    classifier = net.output in ("softmax", "sigmoid")
    history = History()
    show = _Progress(progress, epochs)
    best_loss, best_theta, bad_epochs = math.inf, None, 0
    adaptive_best, adaptive_bad, lr_now = math.inf, 0, lr
    net.history_ = history
    backup = net._theta.copy()
    try:
        for e in range(1, epochs + 1):
            if schedule != "adaptive":
                lr_now = schedule_lr(schedule, lr, e, power_t, decay, step_size)
            order = rng.permutation(n) if shuffle else np.arange(n)
            backup = net._theta.copy()
            state_backup = None if state is None else (state.m.copy(), state.v.copy(),
                                                       state.t.copy())
            total, seconds = 0.0, 0.0
            for start in range(0, n, chunk):
                part = order[start:start + chunk]
                t0 = time.perf_counter()
                if n_threads is not None and n_threads > 1:
                    from .parallel import hogwild

                    total += hogwild(net, X, Y, part, lr_now, l2, n_threads)
                elif state is None and batch_size > 1:
                    total += kernels.epoch_batched(net._theta, net.spec, net._ws, batch_units, X,
                                                   Y, part, dt(lr_now), dt(l2), batch_size)
                elif state is None:
                    total += kernels.epoch(net._theta, net.spec, net._ws, X, Y, part, dt(lr_now),
                                           dt(l2), batch_size)
                else:
                    state.hp[optim.LR] = lr_now
                    total += optim.epoch(net._theta, net.spec, net._ws, state, drop, X, Y,
                                         part, batch_size)
                seconds += time.perf_counter() - t0
            mean = total / n
            if l2:
                mean += 0.5 * l2 * float(kernels._l2_term(net._theta, net.spec))
            if not (np.isfinite(mean) and np.isfinite(net._theta).all()):
                net._theta[:] = backup
                if state is not None:
                    state.m[:], state.v[:], state.t[:] = state_backup
                raise diverged(e, epochs, mean, lr_now, history)
            history.loss.append(float(mean))
            history.lr.append(float(lr_now))
            history.seconds.append(seconds)
            history.samples_per_second.append(n / seconds if seconds > 0 else math.inf)
            monitored = mean
            if Xv is not None:
                val = float(kernels.loss(net._theta, net.spec, net._ws, Xv, Yv, dt(l2)))
                history.val_loss.append(val)
                if classifier:
                    history.val_accuracy.append(accuracy(net, net.predict(Xv), Yv))
                monitored = val
            show.epoch(e, history)

            if schedule == "adaptive":
                if monitored > adaptive_best - tol:
                    adaptive_bad += 1
                else:
                    adaptive_bad = 0
                adaptive_best = min(adaptive_best, monitored)
                if adaptive_bad >= adaptive_patience:
                    lr_now /= 5.0
                    adaptive_bad = 0

            stop = False
            if early_stopping:
                if history.val_loss[-1] < best_loss - min_delta:
                    best_loss, best_theta, bad_epochs = history.val_loss[-1], net._theta.copy(), 0
                    history.best_epoch = e
                else:
                    bad_epochs += 1
                    stop = bad_epochs >= patience
            if callback is not None and callback(net, e, history):
                stop = True
            if stop:
                history.stopped_early = True
                break
    except KeyboardInterrupt as exc:
        # A kernel finishes its chunk before Python sees the signal, so theta is the model
        # after the last completed chunk (or, were that non-finite, before the epoch).
        if not np.isfinite(net._theta).all():
            net._theta[:] = backup
        history.interrupted = True
        exc.history = history
        raise
    if early_stopping and best_theta is not None:
        net._theta[:] = best_theta
    return history
