"""The allocation-free numba kernels: fastbp's engine and its public API for ``@njit`` code.

Every function here is a plain ``@njit(cache=True, nogil=True)`` function of arrays, the
``Spec`` / ``Workspace`` NamedTuples (see ``fastbp.layout``) and scalars, except ``epoch``:
a Python function that compiles only the pass it runs, with a compiled form for ``@njit``
callers (numba's ``overload``). None of them
allocates: they write into theta and the workspace in place. A user's own ``@njit`` code
can call them directly (kernel API version ``fastbp.KERNEL_API_VERSION``)::

    spec, ws, theta = net.spec, net.workspace(), net.theta

    @njit
    def simulate(theta, spec, ws, ...):
        for step in range(n_steps):
            out = fastbp.kernels.forward(theta, spec, ws, x)     # view into ws.a
            cost = fastbp.kernels.sgd_step(theta, spec, ws, x, y, lr)

Shapes: theta (P,), x (sizes[0],), y (sizes[-1],), X (n, sizes[0]), Y (n, sizes[-1]), all
of theta's dtype, x and y contiguous; pass lr and l2 as scalars of theta's dtype for float32 networks (a
float64 scalar works but makes the update arithmetic float64).

Math (layers indexed from 0 here, from 1 in the textbook):
    z^(l+1) = W^l a^l + b^l,  a^(l+1) = g(z^(l+1))
    delta^(L-1) = dC/dz^(L-1) (fused a - y for cross-entropy with sigmoid/softmax)
    delta^l = (W^l)^T delta^(l+1) * g'(z^l)
    dC/dW^l = delta^(l+1) (a^l)^T,  dC/db^l = delta^(l+1)

Indexing: the hot loops index the flat arrays directly, W^l[j, k] = theta[w_off[l] + j *
n_in + k] and layer l's units at u_off[l] + k in ws.z / ws.a / ws.delta, with *unsigned*
(uint64) indices (``fastbp._jit.U``). No slicing and no reference-counted array variables
inside the per-example path: every array view or array assignment numba makes costs two
atomic reference-count operations, which took half the time of a small network's step, so
the public functions ``borrow`` their arrays once and hand them to the inline building
blocks of ``fastbp._blocks`` (one layer each), of which every kernel is composed; every
epoch is one of ``fastbp.epochs``' compiled passes (per example, mini-batches).

Scope: fully-connected feed-forward networks, one thread per workspace. Every public
kernel checks at entry that its arguments fit the spec (``fastbp._checks``: sizes only,
O(layers), plus O(n) for a pass's row order) and raises ValueError otherwise; the values
(finite, in the loss's domain) are the Python layer's job. Non-goals here: shuffling,
schedules (Python owns the outer loop).
"""
import numpy as np
from numba import types
from numba.extending import overload

from . import activations as act
from . import _checks as check
from . import losses, rules
from ._blocks import (apply_gradient as apply_gradient_block, backward_accumulate as
                      backward_accumulate_block, backward_update as backward_update_block,
                      cost as cost_block, forward as forward_block, load_row,
                      out_slot, output_delta as output_delta_block, zero)
from ._fpenv import flushing, restore
from ._jit import (JIT_DISABLED, U, as_row, borrow, cast_like, inline, jit, nopython_form,
                   units_rows)
from .dropout import Dropout
from .epochs import borrowed_workspace, sgd_batches, sgd_examples, sgd_examples_decay
from .layout import ACT, SIZES, W_OFF
from .rules import SGD, OptState


@inline
def _one_example(a, x, n0):
    for k in range(n0):
        a[k] = x[k]


# ---------------------------------------------------------------------- public, per example
@jit
def forward(theta, spec, ws, x):
    """Forward pass of one example x; returns a^(L-1), a view into ws.a (valid until the next call)."""
    th, tab, wsb, xb = borrow(theta), borrow(spec.table), borrowed_workspace(ws), borrow(x)
    check.network_fits(th, tab, spec.loss, wsb, False)
    check.x_fits(tab, xb)
    _one_example(wsb.a, xb, U(tab[SIZES, 0]))
    forward_block(th, tab, wsb.z, wsb.a, 0)
    o, n, _ = out_slot(tab)
    return ws.a[o:o + n]  # a view of the real buffer, never of a borrowed one


@jit
def output_delta(spec, ws, y):
    """delta^(L-1) = dC/dz^(L-1) into ws.delta after ``forward``; returns the example's cost."""
    tab, wsb, yb = borrow(spec.table), borrowed_workspace(ws), borrow(y)
    check.output_fits(tab, spec.loss, wsb, yb)
    return output_delta_block(tab, spec.loss, wsb.z, wsb.a, wsb.delta,
                              as_row(yb), U(0))


@jit
def example_cost(spec, ws, y):
    """The cost of the example last passed to ``forward`` (no delta)."""
    tab, wsb, yb = borrow(spec.table), borrowed_workspace(ws), borrow(y)
    check.output_fits(tab, spec.loss, wsb, yb)
    return cost_block(tab, spec.loss, wsb.z, wsb.a, as_row(yb), U(0))


@jit
def backward_update(theta, spec, ws, lr, l2=0.0):
    """Recursive deltas fused with the in-place SGD update, after ``forward`` and ``output_delta``.

    For l = L-2 .. 0, each row of W^l is read once: its old values feed
    delta^l = (W^l)^T delta^(l+1) * g'(z^l) and are then replaced by
    W^l - lr * (delta^(l+1) (a^l)^T + l2 * W^l); b^l -= lr * delta^(l+1).
    """
    th, tab, wsb = borrow(theta), borrow(spec.table), borrowed_workspace(ws)
    check.network_fits(th, tab, spec.loss, wsb, False)
    none = th[:0]  # plain SGD keeps no state
    backward_update_block(SGD, l2 != 0.0, th, none, none, rules.sgd_consts(th, lr), l2,
                          tab, wsb.z, wsb.a, wsb.delta, wsb.mask, False, 0)


@jit
def backward_accumulate(theta, spec, ws):
    """Recursive deltas, adding this example's gradient to ws.grad (theta is not changed).

    ws.grad[W^l] += delta^(l+1) (a^l)^T,  ws.grad[b^l] += delta^(l+1).
    """
    th, tab, wsb = borrow(theta), borrow(spec.table), borrowed_workspace(ws)
    check.network_fits(th, tab, spec.loss, wsb, True)
    backward_accumulate_block(th, tab, wsb.z, wsb.a, wsb.delta, wsb.grad, wsb.mask, False)


@jit
def apply_gradient(theta, spec, ws, lr, l2, m):
    """theta -= lr * (ws.grad / m + l2 * W) (l2 on weights only), then zero ws.grad.

    ``m`` is the number of examples summed into ws.grad (the mini-batch size).
    """
    th, tab, wsb = borrow(theta), borrow(spec.table), borrowed_workspace(ws)
    check.network_fits(th, tab, spec.loss, wsb, True)
    none = th[:0]
    apply_gradient_block(SGD, th, none, none, rules.sgd_consts(th, lr), l2, tab, wsb.grad, m)


@jit
def sgd_step(theta, spec, ws, x, y, lr, l2=0.0):
    """One in-place per-example SGD step on (x, y); returns that example's cost before the step."""
    th, tab, wsb, xb, yb = borrow(theta), borrow(spec.table), borrowed_workspace(ws), borrow(x), borrow(y)
    check.network_fits(th, tab, spec.loss, wsb, False)
    check.x_fits(tab, xb)
    check.y_fits(tab, yb)
    z, a, delta, mask = wsb.z, wsb.a, wsb.delta, wsb.mask
    _one_example(a, xb, U(tab[SIZES, 0]))
    forward_block(th, tab, z, a, 0)
    cost = output_delta_block(tab, spec.loss, z, a, delta, as_row(yb), U(0))
    none = th[:0]
    backward_update_block(SGD, l2 != 0.0, th, none, none, rules.sgd_consts(th, lr), l2, tab,
                          z, a, delta, mask, False, 0)
    return cost


# ---------------------------------------------------------------------- public, whole passes
@inline
def _plain_state(theta, lr, l2):
    """(OptState, Dropout) of plain SGD at (lr, l2) in theta's dtype, keeping every unit:
    NamedTuples of the types ``Network.fit`` hands its passes, so that ``epoch`` runs their
    compiled code. Plain Python too (``epoch`` builds them with ``py_func``)."""
    hp = np.zeros(6, dtype=theta.dtype)
    hp[rules.LR] = lr
    hp[rules.L2] = l2
    t = np.zeros(1, dtype=np.int64)  # step / example counter
    none = np.zeros(0, dtype=theta.dtype)
    return OptState(np.int64(rules.SGD), hp, none, none, t), Dropout(none, none, np.int64(0), t)


#: plain SGD's three skeletons (``plain_path``): per example without weight decay, per
#: example with it, mini-batches
EXAMPLES, EXAMPLES_DECAY, BATCHES = 0, 1, 2


@jit
def plain_path(batch_size, l2, theta):
    """The skeleton ``epoch`` runs for ``batch_size`` and ``l2`` on ``theta``: decay where
    l2 is nonzero in theta's dtype (an l2 that rounds to 0 in float32 has none). ``epoch``
    decides with it (``epochs.run``, behind ``Network.fit``, ``Population.fit`` and Hogwild,
    makes the same choice)."""
    if batch_size > 1:
        return BATCHES
    return EXAMPLES_DECAY if cast_like(theta, l2) != 0.0 else EXAMPLES


def _plain_skeleton(path, theta, spec, ws, opt, drop, X, Y, order, batch_size):
    """One pass of plain SGD through skeleton ``path`` (the compiled passes of
    ``Network.fit``'s plain SGD, ``fastbp.epochs``): ``epoch``'s from Python, and through
    the overload below in compiled code."""
    if path == BATCHES:
        return sgd_batches(theta, spec, ws, opt, drop, X, Y, order, batch_size)
    if path == EXAMPLES_DECAY:
        return sgd_examples_decay(theta, spec, ws, opt, drop, X, Y, order)
    return sgd_examples(theta, spec, ws, opt, drop, X, Y, order)


if not JIT_DISABLED:
    @overload(_plain_skeleton, prefer_literal=True)
    def _plain_skeleton_typed(path, theta, spec, ws, opt, drop, X, Y, order, batch_size):
        # a literal path (a caller's ``numba.literally``, see ``epoch_path``) compiles only that
        # skeleton; a run-time one (``epoch``) all three. The three calls are written out
        # again here: numba prunes branches on ``chosen`` (a closure constant) only in the
        # body that tests it (an inlined helper's branches would all be typed)
        if isinstance(path, types.IntegerLiteral):
            chosen = path.literal_value

            def one(path, theta, spec, ws, opt, drop, X, Y, order, batch_size):
                if chosen == BATCHES:
                    return sgd_batches(theta, spec, ws, opt, drop, X, Y, order, batch_size)
                if chosen == EXAMPLES_DECAY:
                    return sgd_examples_decay(theta, spec, ws, opt, drop, X, Y, order)
                return sgd_examples(theta, spec, ws, opt, drop, X, Y, order)
            return one
        return _plain_skeleton


@inline
def epoch_on(path, theta, spec, ws, X, Y, order, lr, l2, batch_size):
    """``epoch`` through skeleton ``path`` (``plain_path(batch_size, l2, theta)``)."""
    _epoch_args_fit(theta, spec, ws, X, Y, order, batch_size)
    opt, drop = _plain_state(theta, lr, l2)
    return _plain_skeleton(path, theta, spec, ws, opt, drop, X, Y, order, batch_size)


@inline
def _epoch_args_fit(theta, spec, ws, X, Y, order, batch_size):
    """theta, the workspace and the data fit the spec and share no memory, batch_size is >=
    1 (ValueError)."""
    th, tab, wsb = borrow(theta), borrow(spec.table), borrowed_workspace(ws)
    check.network_fits(th, tab, spec.loss, wsb, True)
    check.pass_fits(tab, th, wsb, borrow(X), borrow(Y), borrow(order), batch_size)


@jit
def epoch_path(path, theta, spec, ws, X, Y, order, lr, l2, batch_size):
    """``epoch`` through skeleton ``path`` (``plain_path``); called with a literal path (a
    caller's ``numba.literally(path)``, as fastbp's former population kernels did), each path is its own specialisation that compiles
    only its skeleton. ValueError unless ``path`` is ``plain_path(batch_size, l2, theta)``
    (another skeleton would ignore l2 or the batch size)."""
    path_fits(path, batch_size, l2, theta)
    return epoch_on(path, theta, spec, ws, X, Y, order, lr, l2, batch_size)


@inline
def path_fits(path, batch_size, l2, theta):
    """ValueError unless ``path`` is ``plain_path(batch_size, l2, theta)``."""
    if path != plain_path(batch_size, l2, theta):
        raise ValueError("path must be kernels.plain_path(batch_size, l2, theta): "
                         "EXAMPLES (batch_size 1, l2 0), EXAMPLES_DECAY (batch_size 1, l2 "
                         "nonzero in theta's dtype) or BATCHES (batch_size > 1)")


def epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size):
    """One pass over the rows ``order`` of (X, Y), updating theta in place.

    batch_size 1: per-example SGD (``sgd_step``). batch_size b > 1: consecutive groups of b
    rows of ``order`` (the last may be smaller), each updating with its mean gradient.
    Returns the sum of the examples' costs, each measured just before its update.

    Called from Python, it checks its arguments (compiled, ``_epoch_checks``) and runs the
    pass ``Network.fit`` compiles for the skeleton ``plain_path`` chooses, straight from
    Python, with the optimiser state and dropout ``Network.fit`` hands it (same types: the
    passes are shared). A first call after a first fit compiles the checks alone: 0.37-0.38 s
    against 1.66-1.69 s when a compiled function per skeleton called the pass (numba links a
    callee into its caller, and LLVM optimised and generated the pass again there); as the
    first call of a process 2.97 s against 4.26 s (fresh cache, 2-4-1, pinned). The price is
    per call: 8.4 µs against 4.6 µs for an epoch of 20 rows of 2-4-1 (two compiled calls
    and the state built in Python). Called from compiled code, it chooses at run time
    (``_epoch_nopython``).
    """
    path = getattr(plain_path, "py_func", plain_path)(batch_size, l2, theta)
    _epoch_checks(theta, spec, ws, X, Y, order, batch_size)
    opt, drop = getattr(_plain_state, "py_func", _plain_state)(theta, lr, l2)
    return _plain_skeleton(path, theta, spec, ws, opt, drop, X, Y, order, batch_size)


@jit
def _epoch_checks(theta, spec, ws, X, Y, order, batch_size):
    """``epoch``'s argument checks from Python (ValueError); its path needs none, it is
    ``plain_path``'s own choice."""
    _epoch_args_fit(theta, spec, ws, X, Y, order, batch_size)


if not JIT_DISABLED:
    @nopython_form(epoch)
    def _epoch_nopython(theta, spec, ws, X, Y, order, lr, l2, batch_size):
        def impl(theta, spec, ws, X, Y, order, lr, l2, batch_size):
            return epoch_on(plain_path(batch_size, l2, theta), theta, spec, ws, X, Y, order,
                            lr, l2, batch_size)
        return impl


@jit
def epoch_batched(theta, spec, ws, batch_units, X, Y, order, lr, l2, batch_size):
    """``epoch`` (kept for kernel API version 1, when mini-batches needed this separate
    kernel and its (3, batch_size, n_units) scratch ``batch_units``, now unused: every
    mini-batch pass allocates its own scratch and runs as matrix products, ``fastbp._batch``)."""
    return epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size)


@jit
def l2_term(theta, spec):
    """sum of W^2 over every weight (not bias)."""
    theta = borrow(theta)
    tab = borrow(spec.table)
    n_params, _ = check.spec_sizes(tab, spec.loss)
    check.theta_fits(theta, n_params)
    s = 0.0
    for l in range(tab.shape[1] - 1):
        wo = U(tab[W_OFF, l])
        for k in range(U(tab[SIZES, l + 1] * tab[SIZES, l])):
            s += theta[wo + k] * theta[wo + k]
    return s


@jit
def loss(theta, spec, ws, X, Y, l2):
    """Mean cost over the rows of (X, Y) plus (l2 / 2) * sum(W^2)."""
    th, X, Y, tab, wsb = borrow(theta), borrow(X), borrow(Y), borrow(spec.table), borrowed_workspace(ws)
    check.network_fits(th, tab, spec.loss, wsb, False)
    check.data_fits(tab, X, Y)
    n = X.shape[0]
    total = 0.0
    for i in range(U(n)):
        load_row(wsb.a, X, i, U(tab[SIZES, 0]))
        forward_block(th, tab, wsb.z, wsb.a, 0)
        total += cost_block(tab, spec.loss, wsb.z, wsb.a, Y, i)
    return total / n + 0.5 * l2 * l2_term(theta, spec)


@jit
def loss_and_gradient(theta, spec, ws, X, Y, l2, grad):
    """Write the gradient of ``loss`` into grad (theta's layout); return ``loss``.

    grad = mean_i dC_i/dtheta + l2 * W on the weights.
    """
    th, X, Y, tab, wsb = borrow(theta), borrow(X), borrow(Y), borrow(spec.table), borrowed_workspace(ws)
    grad = borrow(grad)
    n_params, _ = check.network_fits(th, tab, spec.loss, wsb, True)
    check.data_fits(tab, X, Y)
    check.params_fit(grad, n_params)
    z, a, delta, acc = wsb.z, wsb.a, wsb.delta, wsb.grad
    P = U(grad.shape[0])
    zero(acc, U(0), P)
    n = X.shape[0]
    total = 0.0
    for i in range(U(n)):
        load_row(a, X, i, U(tab[SIZES, 0]))
        forward_block(th, tab, z, a, 0)
        total += output_delta_block(tab, spec.loss, z, a, delta, Y, i)
        backward_accumulate_block(th, tab, z, a, delta, acc, wsb.mask, False)
    nf = cast_like(grad, n)
    for p in range(P):
        grad[p] = acc[p] / nf
        acc[p] = 0.0
    reg = 0.0
    if l2 != 0.0:
        for l in range(tab.shape[1] - 1):
            wo = U(tab[W_OFF, l])
            for k in range(U(tab[SIZES, l + 1] * tab[SIZES, l])):
                w = th[wo + k]
                grad[wo + k] += l2 * w
                reg += w * w
    return total / n + 0.5 * l2 * reg


@jit
def predict(theta, spec, ws, X, out):
    """out[i] = a^(L-1) for each row X[i]."""
    th, X, out, tab, wsb = borrow(theta), borrow(X), borrow(out), borrow(spec.table), borrowed_workspace(ws)
    check.network_fits(th, tab, spec.loss, wsb, False)
    if X.shape[1] != tab[SIZES, 0]:
        raise ValueError("X must have n_inputs columns (X.shape[1] == spec.table[SIZES, 0])")
    check.out_fits(tab, X, out)
    o, n, _ = out_slot(tab)
    for i in range(U(X.shape[0])):
        load_row(wsb.a, X, i, U(tab[SIZES, 0]))
        forward_block(th, tab, wsb.z, wsb.a, 0)
        for k in range(n):
            out[i, k] = wsb.a[o + k]


@jit
def _targets_ok(tab, loss_code, y):
    """y finite and inside the loss's domain (cross-entropy: [0, 1]; softmax rows sum to 1)."""
    n = y.shape[0]
    s = 0.0
    for k in range(n):
        v = y[k]
        if not np.isfinite(v):
            return False
        if loss_code == losses.CROSS_ENTROPY and (v < 0.0 or v > 1.0):
            return False
        s += v
    if loss_code == losses.CROSS_ENTROPY and tab[ACT, tab.shape[1] - 2] == act.SOFTMAX:
        return abs(s - 1.0) <= 1e-6 * n
    return True


@jit
def checked_step(theta, table, loss_code, units, x, y, lr_buf, backup):
    """``sgd_step`` for one example from Python, with the checks the Python layer would do.

    Takes ``Spec.table``, ``Spec.loss``, ``Workspace.units`` and the learning rate as
    ``lr_buf[0]``: a few plain arrays dispatch faster from Python than NamedTuples or NumPy
    scalars. Returns (status, cost). status 0: the step was taken.
    1: x or y is non-finite or y is outside the loss's domain; nothing changed. 2: the cost
    or the updated parameters are non-finite; theta was restored from ``backup`` (a buffer
    of theta's shape that this function overwrites). The caller turns a non-zero status
    into the precise error.
    """
    tab, xb, yb, th, bk, ub = (borrow(table), borrow(x), borrow(y), borrow(theta),
                               borrow(backup), borrow(units))
    n_params, n_units = check.spec_sizes(tab, loss_code)
    check.theta_fits(th, n_params)
    check.units_fit(ub, n_units)
    check.x_fits(tab, xb)
    check.y_fits(tab, yb)
    check.params_fit(bk, n_params)
    if lr_buf.shape[0] < 1:
        raise ValueError("lr_buf must have 1 entry (the learning rate)")
    lr = lr_buf[0]
    for k in range(U(xb.shape[0])):
        if not np.isfinite(xb[k]):
            return 1, 0.0
    if not _targets_ok(tab, loss_code, yb):
        return 1, 0.0
    # the rows borrowed, as the passes see ws.z, ws.a, ...: of the same types, so the
    # helpers a fit compiled (activations, losses, row sweeps) serve this kernel too
    zb, ab, db, mb = units_rows(ub)
    P = U(th.shape[0])
    for p in range(P):
        bk[p] = th[p]
    # subnormals flushed as partial_fit's full path (an epoch pass) flushes them: the same
    # bits either way (fastbp._fpenv)
    env = flushing()
    _one_example(ab, xb, U(xb.shape[0]))
    forward_block(th, tab, zb, ab, 0)
    cost = output_delta_block(tab, loss_code, zb, ab, db, as_row(yb), U(0))
    finite = np.isfinite(cost)
    if finite:
        none = th[:0]
        backward_update_block(SGD, False, th, none, none, rules.sgd_consts(th, lr),
                              cast_like(th, 0.0), tab, zb, ab, db, mb, False, 0)
    restore(env)
    if not finite:
        return 2, cost  # nothing was changed
    if not _finite_or_restore(th, bk):
        return 2, cost
    return 0, cost


@inline
def _finite_or_restore(th, bk):
    """True if every entry of theta is finite; otherwise theta <- bk (its copy from before
    the step) and False. The roll-back of the checked steps (here and fastbp.river)."""
    P = U(th.shape[0])
    for p in range(P):
        if not np.isfinite(th[p]):
            for q in range(P):
                th[q] = bk[q]
            return False
    return True
