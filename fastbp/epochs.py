"""Every epoch, one skeleton: per-example steps or mini-batches, any optimiser, dropout
or not. Each skeleton is built once per combination of its flags (the optimiser's code,
dropout, weight decay) with the flags as closure constants: numba folds the branches on
constants before it types a function, so a pass compiles only the code its flags can
reach (``_examples_pass``). ``run`` (behind ``Network.fit`` and ``optim.epoch`` from
Python) calls the pass of its path straight from Python; ``kernels.epoch``, the thread
kernels and ``train`` (behind ``optim.epoch`` in compiled code, which picks among them at
run time) call the same compiled passes.

A pass visits the rows ``order`` of (X, Y) and returns the sum of the examples' costs,
each measured just before its own update (with dropout active). It takes theta, the
``Spec``, the ``Workspace``, ``OptState`` and ``Dropout`` NamedTuples and X, Y, order, and
borrows their arrays (no reference counting inside). No allocation per example; a
mini-batch pass allocates its batch's scratch once per call.
"""
import numpy as np

from . import dropout as dropout_
from . import rules
from ._batch import backward_update_batch, batch_scratch, forward_batch
from ._fpenv import flushing, restore
from ._blocks import (backward_update, drop_layer, first_layer_update_forward,
                      layer_forward, load_row, out_slot, output_delta, train_forward, zero)
from ._jit import U, borrow, borrow_row, cast_like, inline, jit, keep_alive, rows_of
from .dropout import Dropout
from .layout import SIZES, Workspace
from .rules import ADAM, SGD, STATEFUL, OptState


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


#: a flag of a skeleton that is read at run time (the stateful optimisers' ``opt.code``)
RUN_TIME = None


def _examples_pass(code, dropout, decay):
    """The per-example pass for optimiser ``code`` (``rules.SGD``, or RUN_TIME: every
    stateful optimiser, ``opt.code``), ``dropout`` (True or False) and ``decay`` (plain SGD
    with l2 != 0; the optimisers read l2 in any case), as one compiled function.

    The flags are the closure's constants, so numba prunes the branches on them before it
    types the pass. As arguments (literal or not) every branch was typed and lowered: plain
    SGD's pass typed 4264 IR statements, its dropout code, its decay loop bodies and the
    optimisers' first-layer path included, against 2450 now; its first fit compiled in
    8.4-8.7 s against 7.4 (fresh cache, pinned, 2-4-1). Folded flags also run faster
    than run-time ones: 64-32-10 took 0.81 µs per example against 1.22, 2-4-1 0.16
    against 0.29.

    The first layer's update of example t shares its sweep over W^0 with example t+1's
    first-layer forward pass (``first_layer_update_forward``).

    The stateful optimisers' passes hand their blocks the constant ``rules.STATEFUL``, not
    the run-time code (their rule kernels read it from ``k.code``), so plain SGD's rows
    are neither inlined nor typed there, and dropout is a constant for them too: the first
    Adam fit's pass compiled in 4.3 s with both at run time, 2.4 with the constant code,
    1.9 with both constant (fresh cache, pinned, 2-4-1)."""
    c = STATEFUL if code is RUN_TIME else code

    def examples(theta, spec, ws, opt, drop, X, Y, order):
        theta, ws, opt, drop = borrowed(theta, ws, opt, drop)
        tab, loss, X, Y, order = borrow(spec.table), spec.loss, borrow(X), borrow(Y), borrow(order)
        dropping = dropout
        l2 = cast_like(theta, opt.hp[rules.L2] if decay or c != SGD else 0.0)
        z, a, delta, mask = ws.z, ws.a, ws.delta, ws.mask
        m, v = opt.m, opt.v
        counter = drop.counter
        n0 = U(tab[SIZES, 0])
        n = order.shape[0]
        total = 0.0
        if n == 0:
            return total
        env = flushing()  # subnormals flushed to zero inside the pass (fastbp._fpenv)
        if c == SGD:  # a constant: numba prunes the other branch before typing
            k = rules.sgd_consts(opt.hp, opt.hp[rules.LR])
        else:
            k = rules.consts(opt.code, opt.hp, np.int64(0))  # int64: as next_consts calls it
        load_row(a, X, U(order[0]), n0)
        layer_forward(theta, tab, z, a, 0)
        if dropping:
            drop_layer(tab, a, mask, 1, drop, counter[0])
        for t in range(n):
            # invariant: a^0 holds example t and layer 1 (z^1, a^1) is already computed
            i = U(order[t])
            train_forward(theta, tab, z, a, mask, 1, drop, counter[0], dropping)
            total += output_delta(tab, loss, z, a, delta, Y, i)
            if dropping:
                counter[0] += 1
            if c != SGD:
                if opt.code == ADAM:
                    k = rules.next_consts(opt)
            backward_update(c, decay, theta, m, v, k, l2, tab, z, a, delta, mask, dropping, 1)
            # after the last example: a harmless forward pass of the same row
            nxt = U(order[t + 1]) if t + 1 < n else i
            first_layer_update_forward(c, decay, theta, m, v, k, l2, tab, z, a, delta,
                                       borrow_row(X, nxt))
            if dropping:
                drop_layer(tab, a, mask, 1, drop, counter[0])
        restore(env)
        return total

    return jit(examples, cfunc=False)


def _batches_pass(code, dropout):
    """The mini-batch pass for optimiser ``code`` (``rules.SGD`` or RUN_TIME) and ``dropout``
    (True, False, or RUN_TIME: ``drop.keep`` decides), both closure constants as in
    ``_examples_pass``: batches of ``batch_size`` consecutive rows of ``order`` (the last may
    be smaller), each one optimiser step with the batch's mean gradient. A batch runs layer by layer as
    register-blocked matrix products (``fastbp._batch``, blocks inlined here, so their
    branches on the optimiser and on dropout fold), padded to a multiple of four examples
    with zero rows that add nothing to the gradient."""
    c = STATEFUL if code is RUN_TIME else code

    def batches(theta, spec, ws, opt, drop, X, Y, order, batch_size):
        theta, ws, opt, drop = borrowed(theta, ws, opt, drop)
        tab, loss, X, Y, order = borrow(spec.table), spec.loss, borrow(X), borrow(Y), borrow(order)
        dropping = dropout_.active(drop.keep) if dropout is RUN_TIME else dropout
        m, v = opt.m, opt.v
        l2 = opt.hp[rules.L2]
        counter = drop.counter
        n0 = U(tab[SIZES, 0])
        o, n_out, _ = out_slot(tab)
        n = order.shape[0]
        rows = (min(batch_size, max(n, 1)) + 3) // 4 * 4
        block, first, width = batch_scratch(theta, rows, ws.z.shape[0])
        plane = rows * width
        Z = rows_of(block, first, rows, width)
        A = rows_of(block, first + plane, rows, width)
        D = rows_of(block, first + 2 * plane, rows, width)
        M = rows_of(block, first + 3 * plane, rows, width)
        S = borrow(block[first + 4 * plane:first + 5 * plane])
        total = 0.0
        start = 0
        env = flushing()  # subnormals flushed to zero inside the pass (fastbp._fpenv)
        while start < n:
            stop = min(start + batch_size, n)
            nb = stop - start
            nb4 = (nb + 3) // 4 * 4
            for e in range(nb):
                load_row(A[e], X, U(order[start + e]), n0)
            for e in range(nb, nb4):
                zero(A[e], U(0), n0)
            forward_batch(theta, tab, Z, A, M, nb4, drop, counter[0], dropping)
            for e in range(nb):
                total += output_delta(tab, loss, borrow(Z[e]), borrow(A[e]), borrow(D[e]), Y,
                                      U(order[start + e]))
            for e in range(nb, nb4):
                zero(D[e], o, n_out)
            if c == SGD:  # a constant, as in the per-example pass
                k = rules.sgd_consts(opt.hp, opt.hp[rules.LR])
            else:
                k = rules.next_consts(opt)
            backward_update_batch(c, theta, m, v, k, l2, tab, Z, A, D, M,
                                  S, nb4, nb, dropping)
            if dropping:
                counter[0] += nb
            start = stop
        restore(env)
        keep_alive(block)  # Z, A, D, M and S point into block: freed only after this
        return total

    return jit(batches, cfunc=False)


#: the per-example passes by (code, dropout, decay): plain SGD's four, and the stateful
#: optimisers' two (their code read at run time; decay, l2 != 0, is part of their rules)
EXAMPLE_PASSES = {(SGD, dropout, decay): _examples_pass(SGD, dropout, decay)
                  for dropout in (False, True) for decay in (False, True)}
EXAMPLE_PASSES.update({(RUN_TIME, dropout, False): _examples_pass(RUN_TIME, dropout, False)
                       for dropout in (False, True)})
#: the mini-batch passes by (code, dropout): plain SGD's and the stateful optimisers' (decay
#: is a run-time value there: one branch per layer, outside the loops), with dropout a
#: constant (``run``: a first batch_size=32 fit after a plain one, fresh cache, 2-4-1,
#: pinned, 3.7-3.9 -> 3.2-3.4 s with these blocks inlined) or read at run time (``train``,
#: which compiles every pass it can choose: two passes there, not four)
BATCH_PASSES = {(code, dropout): _batches_pass(code, dropout)
                for code in (SGD, RUN_TIME) for dropout in (False, True, RUN_TIME)}

# each as a global, for compiled callers
sgd_examples = EXAMPLE_PASSES[SGD, False, False]
sgd_examples_decay = EXAMPLE_PASSES[SGD, False, True]
sgd_examples_dropout = EXAMPLE_PASSES[SGD, True, False]
sgd_examples_dropout_decay = EXAMPLE_PASSES[SGD, True, True]
optimizer_examples = EXAMPLE_PASSES[RUN_TIME, False, False]
optimizer_examples_dropout = EXAMPLE_PASSES[RUN_TIME, True, False]
sgd_batches = BATCH_PASSES[SGD, False]
any_sgd_batches = BATCH_PASSES[SGD, RUN_TIME]
any_optimizer_batches = BATCH_PASSES[RUN_TIME, RUN_TIME]


@jit
def train(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    """One pass through the pass of (batch_size, opt.code, dropout, l2), chosen at run time
    (``optim.epoch`` in compiled code: its first compile compiles every pass it can choose)."""
    if batch_size > 1:
        if opt.code == SGD:
            return any_sgd_batches(theta, spec, ws, opt, drop, X, Y, order, batch_size)
        return any_optimizer_batches(theta, spec, ws, opt, drop, X, Y, order, batch_size)
    if opt.code != SGD:
        if dropout_.active(drop.keep):
            return optimizer_examples_dropout(theta, spec, ws, opt, drop, X, Y, order)
        return optimizer_examples(theta, spec, ws, opt, drop, X, Y, order)
    if dropout_.active(drop.keep):
        if opt.hp[rules.L2] != 0.0:
            return sgd_examples_dropout_decay(theta, spec, ws, opt, drop, X, Y, order)
        return sgd_examples_dropout(theta, spec, ws, opt, drop, X, Y, order)
    if opt.hp[rules.L2] != 0.0:
        return sgd_examples_decay(theta, spec, ws, opt, drop, X, Y, order)
    return sgd_examples(theta, spec, ws, opt, drop, X, Y, order)


def plain_sgd(n_params, n_layers, dtype, lr, l2):
    """(OptState, Dropout) as ``Network.fit`` hands them to its pass for plain SGD without
    dropout: the same types, so ``run`` runs the pass ``Network.fit`` compiled
    (``Population.fit`` and Hogwild)."""
    return (rules.make_state("sgd", n_params, dtype, lr, l2),
            dropout_.make_dropout([0.0] * (n_layers - 2), n_layers, dtype, 0))


def run(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    """``train`` from Python (the training loop, ``optim.epoch``): the same choice, made in
    Python, so that only the pass it runs is compiled."""
    sgd = opt.code == SGD
    # dropout.active as Python (a few layers): compiled, it took 0.26 s of a first fit
    dropping = bool(getattr(dropout_.active, "py_func", dropout_.active)(drop.keep))
    if batch_size > 1:
        return BATCH_PASSES[SGD if sgd else RUN_TIME, dropping](theta, spec, ws, opt, drop, X, Y,
                                                               order, batch_size)
    decay = sgd and bool(opt.hp[rules.L2] != 0.0)
    return EXAMPLE_PASSES[SGD if sgd else RUN_TIME, dropping, decay](theta, spec, ws, opt, drop,
                                                                    X, Y, order)
