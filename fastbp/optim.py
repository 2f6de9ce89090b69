"""Optimiser and dropout kernels for user ``@njit`` code and the training loop.

``epoch`` and ``step`` train with any optimiser of ``fastbp.rules`` (sgd, momentum,
nesterov, adam: scikit-learn's update rules) and inverted dropout (``fastbp.dropout``),
through the same epoch skeletons as ``fastbp.kernels.epoch`` and ``Network.fit`` (chosen
in Python by ``fastbp.epochs.run``, in compiled code by ``fastbp.epochs.train``).
The state (``OptState``, ``make_state``) and dropout (``Dropout``, ``make_dropout``) are
defined in ``fastbp.rules`` and ``fastbp.dropout`` and re-exported here, where kernel API
version 1 put them.
"""
from . import _checks as check
from . import dropout as _dropout
from . import rules
from ._blocks import backward_update, output_delta, train_forward
from ._fpenv import flushing, restore
from ._jit import JIT_DISABLED, U, as_row, borrow, inline, jit, nopython_form
from .dropout import Dropout, make_dropout, uniform
from .epochs import borrowed, run, train
from .layout import SIZES
from .rules import (ADAM, BETA1, BETA2, CODES, EPS, L2, LR, MOMENTUM, MU, NESTEROV, SGD,
                    OptState, make_state)

__all__ = ["epoch", "step", "OptState", "make_state", "Dropout", "make_dropout", "uniform",
           "CODES", "SGD", "MOMENTUM", "NESTEROV", "ADAM", "LR", "L2", "MU", "BETA1", "BETA2",
           "EPS"]


@inline
def _args_fit(theta, tab, loss, ws, opt, drop):
    """theta, the workspace, the optimiser state and dropout (all borrowed) fit the spec
    (ValueError)."""
    n_params, _ = check.network_fits(theta, tab, loss, ws, True)
    check.opt_fits(opt, n_params)
    check.dropout_fits(drop, tab.shape[1])


@jit
def _epoch_args_fit(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    """``epoch``'s checks (ValueError), compiled once for every pass."""
    th, wsb, optb, dropb = borrowed(theta, ws, opt, drop)
    tab = borrow(spec.table)
    _args_fit(th, tab, spec.loss, wsb, optb, dropb)
    check.pass_fits(tab, th, wsb, borrow(X), borrow(Y), borrow(order), batch_size)


def epoch(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    """One pass over the rows ``order`` with the optimiser ``opt`` (an ``OptState``) and
    dropout ``drop`` (a ``Dropout``; keep all ones for none).

    Same semantics as ``fastbp.kernels.epoch``; updates theta, opt's state and drop's
    counter (examples trained with dropout) in place and returns the summed cost of the
    examples, each measured before its own update (with dropout active).

    Called from Python, it checks its arguments (compiled) and then compiles only the pass
    they need (``epochs.run``, as ``Network.fit`` does: the passes are shared): with an
    empty cache its first call took 4.4 s against 28.5 s when it compiled every pass (a
    3-4-2 network, plain SGD, one pinned core). Called from compiled code, it chooses the
    pass at run time (``epochs.train``, which compiles every pass).
    """
    _epoch_args_fit(theta, spec, ws, opt, drop, X, Y, order, batch_size)
    return run(theta, spec, ws, opt, drop, X, Y, order, batch_size)


if not JIT_DISABLED:
    @nopython_form(epoch)
    def _epoch_nopython(theta, spec, ws, opt, drop, X, Y, order, batch_size):
        def impl(theta, spec, ws, opt, drop, X, Y, order, batch_size):
            _epoch_args_fit(theta, spec, ws, opt, drop, X, Y, order, batch_size)
            return train(theta, spec, ws, opt, drop, X, Y, order, batch_size)
        return impl


@jit
def step(theta, spec, ws, opt, drop, x, y):
    """One per-example step on (x, y) with the optimiser ``opt`` and dropout ``drop`` (keep
    all ones for none), for user ``@njit`` code; returns the example's cost before the step."""
    th, wsb, optb, dropb = borrowed(theta, ws, opt, drop)
    tab, xb, yb = borrow(spec.table), borrow(x), borrow(y)
    _args_fit(th, tab, spec.loss, wsb, optb, dropb)
    check.x_fits(tab, xb)
    check.y_fits(tab, yb)
    env = flushing()  # the moments decay and would stick as subnormals (fastbp._fpenv)
    a = wsb.a
    for k in range(U(tab[SIZES, 0])):
        a[k] = xb[k]
    dropout = _dropout.active(dropb.keep)
    train_forward(th, tab, wsb.z, a, wsb.mask, 0, dropb, dropb.counter[0], dropout)
    cost = output_delta(tab, spec.loss, wsb.z, a, wsb.delta,
                        as_row(yb), U(0))
    if dropout:
        dropb.counter[0] += 1
    l2 = optb.hp[rules.L2]
    backward_update(optb.code, l2 != 0.0, th, optb.m, optb.v, rules.next_consts(optb), l2, tab,
                    wsb.z, a, wsb.delta, wsb.mask, dropout, 0)
    restore(env)
    return cost
