"""The checked optimiser step behind ``fastbp.river``'s per-example calls, on plain arrays.

Plain SGD without l2 trains through ``fastbp.kernels.checked_step`` (the kernel that
``Network.partial_fit`` uses, so a stream of ``learn_one`` calls is bit for bit a Network
trained per example). The other optimisers, and l2, go through ``checked_opt_step`` here:
the same step as ``fastbp.optim.step`` with the same checks and roll-back as
``checked_step``, so that a failed example leaves theta *and* the optimiser state as they
were. Plain arrays instead of NamedTuples because they dispatch faster from Python.
"""
import numpy as np

from .. import _checks as check
from .. import rules
from .._blocks import backward_update, forward, output_delta
from .._fpenv import flushing, restore
from .._jit import U, as_row, borrow, jit, units_rows
from ..kernels import _targets_ok, _finite_or_restore


@jit
def checked_opt_step(theta, table, loss_code, units, x, y, code, hp, m, v, t, backup):
    """One step of optimiser ``code`` (state hp, m, v, t as in ``OptState``) on (x, y).

    Returns (status, cost) as ``fastbp.kernels.checked_step``: 0 the step was taken; 1 x
    or y non-finite or y outside the loss's domain, nothing changed; 2 the cost or the new
    parameters are non-finite, and theta, m, v, t were restored. ``backup`` is a (3, P)
    scratch buffer this function overwrites.
    """
    tab, xb, yb, th, bk, ub = (borrow(table), borrow(x), borrow(y), borrow(theta),
                               borrow(backup), borrow(units))
    mb, vb, hpb, tb = borrow(m), borrow(v), borrow(hp), borrow(t)
    n_params, n_units = check.spec_sizes(tab, loss_code)
    check.theta_fits(th, n_params)
    check.units_fit(ub, n_units)
    check.x_fits(tab, xb)
    check.y_fits(tab, yb)
    if bk.shape[0] != 3 or bk.shape[1] != n_params:
        raise ValueError("backup must have shape (3, n_params)")
    if mb.shape[0] not in (0, n_params) or vb.shape[0] not in (0, n_params):
        raise ValueError("m and v must be empty or of theta's size")
    if hpb.shape[0] != 6 or tb.shape[0] != 1:
        raise ValueError("hp must have 6 entries and t 1")
    for k in range(U(xb.shape[0])):
        if not np.isfinite(xb[k]):
            return 1, 0.0
    if not _targets_ok(tab, loss_code, yb):
        return 1, 0.0
    P = U(th.shape[0])
    nm = U(mb.shape[0])
    nv = U(vb.shape[0])
    for p in range(P):
        bk[0, p] = th[p]
    for p in range(nm):
        bk[1, p] = mb[p]
    for p in range(nv):
        bk[2, p] = vb[p]
    t_before = tb[0]
    zb, ab, db, maskb = units_rows(ub)
    for k in range(U(xb.shape[0])):
        ab[k] = xb[k]
    env = flushing()  # the moments decay and would stick as subnormals (fastbp._fpenv)
    forward(th, tab, zb, ab, 0)
    cost = output_delta(tab, loss_code, zb, ab, db, as_row(yb), U(0))
    finite = np.isfinite(cost)
    if finite:
        opt = rules.OptState(code, hpb, mb, vb, tb)
        l2 = hpb[rules.L2]
        backward_update(code, l2 != 0.0, th, mb, vb, rules.next_consts(opt), l2, tab, zb, ab,
                        db, maskb, False, 0)
    restore(env)
    if not finite:
        return 2, cost  # nothing was changed
    if not _finite_or_restore(th, bk[0]):
        for p in range(nm):
            mb[p] = bk[1, p]
        for p in range(nv):
            vb[p] = bk[2, p]
        tb[0] = t_before
        return 2, cost
    return 0, cost
