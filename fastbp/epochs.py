"""Every epoch, one skeleton: per-example steps or mini-batches, any optimiser, dropout
or not. ``train`` (behind ``optim.epoch``) dispatches on run-time values and so compiles
every path; ``run`` (behind ``Network.fit``) and ``kernels.epoch`` (plain SGD, behind the
thread kernels) call ``train_examples`` / ``train_batches`` with the flags as constants
and compile only the paths they can take, sharing those specialisations.

A pass visits the rows ``order`` of (X, Y) and returns the sum of the examples' costs,
each measured just before its own update (with dropout active). ``ws``, ``opt`` and
``drop`` are the ``Workspace``, ``OptState`` and ``Dropout`` NamedTuples with borrowed
arrays; ``dropout`` says whether ``drop`` drops anything (a literal False compiles the
dropout code away). No allocation per example; a mini-batch pass allocates its batch's
scratch once per call.
"""
import numpy as np

from . import dropout as dropout_
from . import rules
from ._batch import backward_update_batch, forward_batch
from ._blocks import (backward_update, drop_layer, first_layer_update_forward,
                      layer_forward, load_row, out_slot, output_delta, train_forward, zero)
from ._jit import U, borrow, borrow_row, cast_like, inline, jit
from .dropout import Dropout
from .layout import SIZES, Workspace
from .rules import SGD, OptState

# ``SGD`` is imported as a global on purpose: passed to a compiled function, a global is a
# compile-time constant (a literal type) and ``rules.SGD`` would be a run-time int64.


@jit
def train_examples(theta, tab, loss, ws, opt, drop, X, Y, order, code=rules.SGD, dropout=False,
                   decay=False):
    """Per-example steps. The first layer's update of example t shares its sweep over
    W^0 with example t+1's first-layer forward pass (``first_layer_update_forward``).

    ``code``, ``dropout`` and ``decay`` are the optimiser's code, whether ``drop`` drops
    anything and whether plain SGD has a weight decay (l2 != 0; the optimisers read l2 in
    any case). Left out, they are plain SGD without dropout or weight decay. Passed as
    constants (``run`` and ``train`` do), each combination is compiled on its own with
    every branch on them folded away: 64-32-10 took 0.81 µs per example against 1.22 with
    the same values passed at run time, 2-4-1 0.16 against 0.29.
    """
    l2 = cast_like(theta, opt.hp[rules.L2] if decay or code != rules.SGD else 0.0)
    z, a, delta, mask = ws.z, ws.a, ws.delta, ws.mask
    m, v = opt.m, opt.v
    counter = drop.counter
    n0 = U(tab[SIZES, 0])
    n = order.shape[0]
    total = 0.0
    if n == 0:
        return total
    k = rules.consts(opt.hp, 0)
    load_row(a, X, U(order[0]), n0)
    layer_forward(theta, tab, z, a, 0)
    if dropout:
        drop_layer(tab, a, mask, 1, drop, counter[0])
    for t in range(n):
        # invariant: a^0 holds example t and layer 1 (z^1, a^1) is already computed
        i = U(order[t])
        train_forward(theta, tab, z, a, mask, 1, drop, counter[0], dropout)
        total += output_delta(tab, loss, z, a, delta, Y, i)
        if dropout:
            counter[0] += 1
        if code == rules.ADAM:
            k = rules.next_consts(opt)
        backward_update(code, decay, theta, m, v, k, l2, tab, z, a, delta, mask, dropout, 1)
        # after the last example: a harmless forward pass of the same row
        nxt = U(order[t + 1]) if t + 1 < n else i
        first_layer_update_forward(code, decay, theta, m, v, k, l2, tab, z, a, delta,
                                   borrow_row(X, nxt))
        if dropout:
            drop_layer(tab, a, mask, 1, drop, counter[0])
    return total


@jit
def train_batches(theta, tab, loss, ws, opt, drop, dropout, X, Y, order, batch_size, code):
    """Mini-batches of ``batch_size`` consecutive rows of ``order`` (the last may be
    smaller), each one optimiser step with the batch's mean gradient. A batch runs layer
    by layer as register-blocked matrix products (``fastbp._batch``), padded to a multiple
    of four examples with zero rows that add nothing to the gradient. ``code`` is
    ``opt.code``, a literal ``SGD`` for plain SGD's own compiled entry."""
    m, v = opt.m, opt.v
    l2 = opt.hp[rules.L2]
    counter = drop.counter
    n0 = U(tab[SIZES, 0])
    o, n_out, _ = out_slot(tab)
    n = order.shape[0]
    rows = (min(batch_size, max(n, 1)) + 3) // 4 * 4
    block = np.zeros((5, rows, ws.z.shape[0]), dtype=theta.dtype)
    blk = borrow(block)
    Z = blk[0]
    A = blk[1]
    D = blk[2]
    M = blk[3]
    S = blk[4].reshape(blk[4].size)
    total = 0.0
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        nb = stop - start
        nb4 = (nb + 3) // 4 * 4
        for e in range(nb):
            load_row(A[e], X, U(order[start + e]), n0)
        for e in range(nb, nb4):
            zero(A[e], U(0), n0)
        forward_batch(theta, tab, Z, A, M, nb4, drop, counter[0], dropout)
        for e in range(nb):
            total += output_delta(tab, loss, borrow(Z[e]), borrow(A[e]), borrow(D[e]), Y,
                                  U(order[start + e]))
        for e in range(nb, nb4):
            zero(D[e], o, n_out)
        backward_update_batch(code, theta, m, v, rules.next_consts(opt), l2, tab, Z, A, D, M, S,
                              nb4, nb, dropout)
        if dropout:
            counter[0] += nb
        start = stop
    return total


@jit
def train(theta, tab, loss, ws, opt, drop, dropout, X, Y, order, batch_size):
    """One pass: ``train_examples`` for batch_size 1, else ``train_batches``."""
    if batch_size > 1:
        return train_batches(theta, tab, loss, ws, opt, drop, dropout, X, Y, order, batch_size,
                             opt.code)
    if opt.code != rules.SGD:
        return train_examples(theta, tab, loss, ws, opt, drop, X, Y, order, opt.code, dropout)
    # plain SGD: one compiled specialisation per (dropout, decay), see ``train_examples``
    decay = opt.hp[rules.L2] != 0.0
    if dropout:
        if decay:
            return train_examples(theta, tab, loss, ws, opt, drop, X, Y, order, SGD, True,
                                  True)
        return train_examples(theta, tab, loss, ws, opt, drop, X, Y, order, SGD, True,
                              False)
    if decay:
        return train_examples(theta, tab, loss, ws, opt, drop, X, Y, order, SGD, False,
                              True)
    # the flags written out: left to their defaults they would be another specialisation
    # (omitted arguments) of the one ``run`` and ``kernels.epoch`` compile, compiled twice
    return train_examples(theta, tab, loss, ws, opt, drop, X, Y, order, SGD, False, False)


@inline
def borrowed_workspace(ws):
    """The workspace with borrowed arrays (no reference counting inside the kernels)."""
    return Workspace(borrow(ws.z), borrow(ws.a), borrow(ws.delta), borrow(ws.grad),
                     borrow(ws.units), borrow(ws.mask))


@inline
def borrowed(theta, ws, opt, drop):
    """theta, the workspace, the optimiser state and dropout with borrowed arrays."""
    return (borrow(theta),
            borrowed_workspace(ws),
            OptState(opt.code, borrow(opt.hp), borrow(opt.m), borrow(opt.v), borrow(opt.t)),
            Dropout(borrow(drop.keep), borrow(drop.scale), drop.seed, borrow(drop.counter)))


# One compiled entry per path, for ``run``: a fit compiles only the path it takes (the
# public ``optim.epoch`` compiles them all at its first call).
def _sgd_entry(dropout, decay):
    """The entry for plain SGD with ``dropout`` and ``decay`` as compile-time constants."""

    def sgd_examples(theta, spec, ws, opt, drop, X, Y, order):
        th, wsb, optb, dropb = borrowed(theta, ws, opt, drop)
        return train_examples(th, borrow(spec.table), spec.loss, wsb, optb, dropb, borrow(X),
                              borrow(Y), borrow(order), SGD, dropout, decay)

    return jit(sgd_examples)


_SGD_EXAMPLES = {(dropout, decay): _sgd_entry(dropout, decay)
                 for dropout in (False, True) for decay in (False, True)}


@jit
def _optimizer_examples(theta, spec, ws, opt, drop, X, Y, order):
    th, wsb, optb, dropb = borrowed(theta, ws, opt, drop)
    return train_examples(th, borrow(spec.table), spec.loss, wsb, optb, dropb, borrow(X),
                          borrow(Y), borrow(order), optb.code, dropout_.active(dropb.keep))


@jit
def _optimizer_batches(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    th, wsb, optb, dropb = borrowed(theta, ws, opt, drop)
    return train_batches(th, borrow(spec.table), spec.loss, wsb, optb, dropb,
                         dropout_.active(dropb.keep), borrow(X), borrow(Y), borrow(order),
                         batch_size, optb.code)


@jit
def _sgd_batches(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    # the code a literal: the stateful optimisers' kernels are not compiled (``unless_code``)
    th, wsb, optb, dropb = borrowed(theta, ws, opt, drop)
    return train_batches(th, borrow(spec.table), spec.loss, wsb, optb, dropb,
                         dropout_.active(dropb.keep), borrow(X), borrow(Y), borrow(order),
                         batch_size, SGD)


def run(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    """``optim.epoch`` from Python (the training loop), compiling only the path taken."""
    if batch_size > 1:
        entry = _sgd_batches if opt.code == rules.SGD else _optimizer_batches
        return entry(theta, spec, ws, opt, drop, X, Y, order, batch_size)
    if opt.code != rules.SGD:
        return _optimizer_examples(theta, spec, ws, opt, drop, X, Y, order)
    entry = _SGD_EXAMPLES[bool(dropout_.active(drop.keep)), bool(opt.hp[rules.L2] != 0.0)]
    return entry(theta, spec, ws, opt, drop, X, Y, order)
