"""The outer training loop: Python between kernel calls.

One kernel call trains one chunk of an epoch (``chunk_size`` rows); between calls Python
applies the learning-rate schedule, measures validation loss, decides on early stopping,
reports progress, calls the user's callback, checks for divergence and lets Ctrl-C
through. Nothing here touches a single example. The options and their checks are declared
in ``fastbp.options``; ``fit`` is ``Network.fit``.
"""
import math
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import _validation as v
from . import kernels, optim, options, threads
from .epochs import plain_sgd, run as run_epoch
from .layout import aligned_array


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
        last = f", last loss {np.array2string(np.asarray(self.loss[-1]), precision=6)}" \
            if self.loss else ""
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

    Attributes: ``epoch`` (1-based) where it happened, ``history`` (a ``History``) up to
    the last good epoch, and ``members``: for a ``Population``, the indices of the members
    that diverged (the others trained that epoch and kept its result); None for a network.
    """

    def __init__(self, message, epoch, history, members=None):
        super().__init__(message)
        self.epoch = epoch
        self.history = history
        self.members = members

    def __reduce__(self):
        # pickled with its attributes, so that it crosses a process boundary (a Dask task,
        # a multiprocessing worker); the default pickles only the message and unpickling
        # failed with a TypeError
        return type(self), (self.args[0], self.epoch, self.history, self.members)


def diverged(epoch, epochs, mean, lr, history):
    """The DivergenceError for a non-finite loss or parameters at ``epoch``."""
    what = "the training loss" if not np.isfinite(mean) else "the parameters"
    return DivergenceError(
        f"training diverged at epoch {epoch} of {epochs}: {what} became non-finite "
        f"(loss {mean}). theta was restored to its state before that epoch. Try a smaller lr "
        f"(got {lr}), scaling the inputs (standardise X to zero mean and unit variance), or "
        f"a larger l2.", epoch, history)


def population_history(losses, lrs):
    """The ``History`` of a Population's completed epochs: ``losses`` (epochs, members);
    each entry of ``loss`` and ``lr`` is an array with one value per member, so
    ``np.asarray(history.loss)`` is ``losses`` again."""
    history = History()
    history.loss = [np.array(row) for row in losses]
    history.lr = [np.array(lrs, dtype=np.float64) for _ in losses]
    return history


def callback_broke(epoch, epochs, history):
    """The DivergenceError for a callback that left non-finite values in theta."""
    return DivergenceError(
        f"the callback left non-finite values (NaN or Inf) in theta after epoch {epoch} of "
        f"{epochs}; theta was restored to its state before the callback. A callback may "
        f"change theta, but only to finite values.", epoch, history)


def check_theta_finite(theta, name="net.theta"):
    """Refuse to train from a theta already non-finite (written in place through a view):
    divergence handling restores theta to its state before an epoch, which would be that."""
    bad = ~np.isfinite(theta)
    if bad.any():
        raise ValueError(f"{name} holds {int(bad.sum())} non-finite value(s) (the first at "
                         f"index {int(np.argmax(bad))}) before training; set {name} to "
                         f"finite values first")


def check_apart(X, theta, name="the network's parameters"):
    """Refuse an X that shares memory with the parameters it would train: training would
    change its own data, and the per-example passes are compiled on the promise that it
    does not (``_inlining.NoAliasCompiler``)."""
    if np.may_share_memory(X, theta):
        raise ValueError(f"X shares memory with {name} (training would change its own "
                         f"data): pass a copy, X.copy()")


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


@options.takes(options.NAMES)
def fit(net, X, Y, **given):
    """Train for ``epochs`` passes over (X, Y); returns a ``History``.

    Raises ``DivergenceError`` (theta restored to its state before the epoch) if the loss or
    the parameters become non-finite. Every option is checked before anything changes.
    """
    opts = options.validate(len(net.sizes) - 2, dtype=net.dtype, **given)
    if opts.n_threads is not None and opts.n_threads > 1 and (
            opts.optimizer != "sgd" or any(opts.dropout) or opts.batch_size != 1):
        raise ValueError(f"n_threads={opts.n_threads} (Hogwild) runs plain per-example SGD: "
                         f"it needs optimizer='sgd', batch_size=1 and no dropout")
    return train(net, X, Y, opts)


def train(net, X, Y, opts, state=None):
    """The loop behind ``fit`` and ``partial_fit``, with validated ``FitOptions``.

    Every check comes before the first change of state (history_, the generator, theta).
    ``state``: an ``optim.OptState`` to continue (its moments and step count advance in
    place; the caller keeps its hp in line with opts), or None for a fresh one
    (``fastbp.sklearn`` passes one so that partial_fit continues the optimiser).
    """
    X, Y = net._xy(X, Y, aligned=True)
    check_apart(X, net._theta)
    check_theta_finite(net._theta)
    rng = net._rng if opts.seed is None else np.random.default_rng(opts.seed)
    Xv = Yv = None
    if opts.validation_data is not None:
        Xv, _ = v.check_X(opts.validation_data[0], net.sizes[0], net.dtype, name="X_val")
        Yv = v.check_Y(opts.validation_data[1], Xv.shape[0], net.sizes[-1], net.output,
                       net.loss_name, net.dtype, name="Y_val")
    elif opts.validation_fraction is not None:
        fraction = opts.validation_fraction
        n_val = int(math.ceil(fraction * X.shape[0]))
        if n_val < 1 or n_val >= X.shape[0]:
            raise ValueError(f"validation_fraction {fraction} of {X.shape[0]} rows "
                             f"leaves {X.shape[0] - n_val} for training and {n_val} for "
                             f"validation; both need at least one")
        perm = rng.permutation(X.shape[0])
        Xv, Yv = X[perm[-n_val:]], Y[perm[-n_val:]]
        X, Y = aligned_array(X, X.dtype, perm[:-n_val]), np.ascontiguousarray(Y[perm[:-n_val]])

    n = X.shape[0]
    dt = net.dtype.type
    epochs, lr, l2, batch_size = opts.epochs, opts.lr, opts.l2, opts.batch_size
    hogwild_threads = opts.n_threads if opts.n_threads is not None and opts.n_threads > 1 \
        else None
    # one optimiser state and one dropout (which may drop nothing) for every fit: one kernel
    seed = rng.integers(2**63) if any(r > 0 for r in opts.dropout) else 0
    drop = optim.make_dropout(opts.dropout, len(net.sizes), net.dtype, seed)
    if state is None:
        state = optim.make_state(opts.optimizer, net.n_params, net.dtype, lr, l2,
                                 opts.momentum, opts.beta1, opts.beta2, opts.epsilon)
    chunk = max(batch_size, opts.chunk_size // batch_size * batch_size)
    classifier = net.output in ("softmax", "sigmoid")
    history = History()
    show = _Progress(opts.progress, epochs)
    best_loss, best_theta, bad_epochs = math.inf, None, 0
    adaptive_best, adaptive_bad, lr_now = math.inf, 0, lr
    net.history_ = history
    backup = net._theta.copy()
    try:
        for e in range(1, epochs + 1):
            if opts.schedule != "adaptive":
                lr_now = options.schedule_lr(opts, e)
            order = rng.permutation(n) if opts.shuffle else np.arange(n)
            backup = net._theta.copy()
            state_backup = (state.m.copy(), state.v.copy(), state.t.copy())
            total, seconds = 0.0, 0.0
            for start in range(0, n, chunk):
                part = order[start:start + chunk]
                t0 = time.perf_counter()
                if hogwild_threads is not None:
                    total += hogwild(net, X, Y, part, lr_now, l2, hogwild_threads)
                else:
                    state.hp[optim.LR] = lr_now
                    total += run_epoch(net._theta, net.spec, net._ws, state, drop, X, Y,
                                       part, batch_size)
                seconds += time.perf_counter() - t0
            mean = total / n
            if l2:
                mean += 0.5 * l2 * float(kernels.l2_term(net._theta, net.spec))
            if not (np.isfinite(mean) and np.isfinite(net._theta).all()):
                net._theta[:] = backup
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

            if opts.schedule == "adaptive":
                if monitored > adaptive_best - opts.tol:
                    adaptive_bad += 1
                else:
                    adaptive_bad = 0
                adaptive_best = min(adaptive_best, monitored)
                if adaptive_bad >= opts.adaptive_patience:
                    lr_now /= 5.0
                    adaptive_bad = 0

            stop = False
            if opts.early_stopping:
                if history.val_loss[-1] < best_loss - opts.min_delta:
                    best_loss, best_theta, bad_epochs = history.val_loss[-1], net._theta.copy(), 0
                    history.best_epoch = e
                else:
                    bad_epochs += 1
                    stop = bad_epochs >= opts.patience
            if opts.callback is not None:
                before = net._theta.copy()  # the callback may write into theta in place
                if opts.callback(net, e, history):
                    stop = True
                if not np.isfinite(net._theta).all():
                    net._theta[:] = before
                    raise callback_broke(e, epochs, history)
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
    if opts.early_stopping and best_theta is not None:
        net._theta[:] = best_theta
    return history


def hogwild(net, X, Y, order, lr, l2, n_threads):
    """One Hogwild epoch of ``net`` over ``order`` with ``n_threads`` threads; returns the
    summed cost (validated inputs, as ``train`` passes them).

    Thread t runs plain SGD per example on its contiguous part of ``order`` through the pass
    ``Network.fit`` runs (``epochs.run``: compiled already, and it releases the GIL), all
    threads updating ``net``'s theta in place without locks, each in a workspace of its
    own. (Through a ``prange`` kernel of its own, ``fastbp.threads``, a first Hogwild fit
    compiled for seconds more: numba optimised and generated the pass again in each
    compiled layer around it.)"""
    units, grads = net.__dict__.get("_hogwild_ws", (None, None))
    if units is None or units.shape[0] != n_threads:
        units, grads = threads.workspaces(net.layout, n_threads, net.dtype)
        net._hogwild_ws = (units, grads)
    state, drop = plain_sgd(net.n_params, len(net.sizes), net.dtype, lr, l2)
    n = order.shape[0]
    parts = [order[t * n // n_threads:(t + 1) * n // n_threads] for t in range(n_threads)]
    totals = np.zeros(n_threads)

    def part_epoch(t):
        totals[t] = run_epoch(net._theta, net.spec, threads.workspace_of(units, grads, t),
                              state, drop, X, Y, parts[t], 1)

    with ThreadPoolExecutor(n_threads) as pool:
        list(pool.map(part_epoch, range(n_threads)))  # list(): raise what a thread raised
    return float(totals.sum())
