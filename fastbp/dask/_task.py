"""One sweep task, run on a worker: train a block of members as one ``Population`` and
return compact arrays (thetas and scores), never pickled networks. No dask needed here."""
import os
import socket
import time

import numpy as np

from ..network import Network
from ..population import Population
from ..training import DivergenceError


def scores(net, X_val, Y_val):
    """(validation loss, accuracy) of ``net``; NaN where not defined (no validation data;
    accuracy of an identity or tanh output). Accuracy: softmax argmax against the target's
    argmax; sigmoid a > 0.5 against y > 0.5, over every output."""
    if X_val is None:
        return np.nan, np.nan
    X, Y = net._xy(X_val, Y_val)  # targets as the network trains on them (labels one-hot)
    loss = float(net.loss(X, Y))
    a = net.predict(X)
    if net.output == "softmax":
        return loss, float(np.mean(a.argmax(axis=1) == Y.argmax(axis=1)))
    if net.output == "sigmoid":
        return loss, float(np.mean((a > 0.5) == (Y > 0.5)))
    return loss, np.nan


def _worker_name():
    try:
        from distributed import get_worker
        return get_worker().address
    except (ImportError, ValueError):  # not inside a Dask worker
        return f"{socket.gethostname()}:{os.getpid()}"


def _alone(arch, shared, lr, seed, X, Y):
    """One member trained by itself (the fallback after a divergence): its Network, final
    training loss and the epoch it diverged at (0: it did not)."""
    net = Network(**arch, seed=seed)
    try:
        net.fit(X, Y, lr=lr, **shared)
    except DivergenceError as exc:
        return net, np.nan, exc.epoch
    return net, float(net.history_.loss[-1]), 0


def train_block(X, Y, X_val, Y_val, arch, shared, lrs, seeds, n_threads):
    """Train members (``lrs[r]``, ``seeds[r]``) of architecture ``arch`` with the fit options
    ``shared``; returns a dict of arrays, one entry per member.

    A member is bit-identical to ``Network(**arch, seed=seed).fit(X, Y, lr=lr, **shared)``.
    If one diverges, ``Population.fit`` stops every member at that epoch; the block is then
    trained member by member (the same computation, so the same results for the others) and
    the diverged ones get NaN scores and ``diverged_at`` = their epoch (their thetas are
    their last finite state)."""
    t0 = time.perf_counter()
    pop = Population(arch["sizes"], len(seeds), hidden=arch["hidden"], output=arch["output"],
                     loss=arch["loss"], init=arch["init"], dtype=arch["dtype"], seeds=seeds)
    try:
        losses = pop.fit(X, Y, lr=np.asarray(lrs), n_threads=n_threads, **shared)
        nets, train_loss = pop.members, [float(x) for x in losses[-1]]
        diverged_at = [0] * len(seeds)
    except DivergenceError:
        alone = [_alone(arch, shared, lr, s, X, Y) for lr, s in zip(lrs, seeds)]
        nets, train_loss, diverged_at = (list(col) for col in zip(*alone))
    val = [scores(n, X_val, Y_val) if not d else (np.nan, np.nan)
           for n, d in zip(nets, diverged_at)]
    return {"thetas": np.stack([n.theta for n in nets]),
            "train_loss": np.array(train_loss), "val_loss": np.array([s[0] for s in val]),
            "val_accuracy": np.array([s[1] for s in val]),
            "diverged_at": np.array(diverged_at), "seconds": time.perf_counter() - t0,
            "worker": _worker_name()}
