"""The allocation-free numba kernels: fastbp's engine and its public API for ``@njit`` code.

Every function here is a plain ``@njit(cache=True, nogil=True)`` function of arrays, the
``Spec`` / ``Workspace`` NamedTuples (see ``fastbp.layout``) and scalars. None of them
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
(uint64) indices. Unsigned, because numba must otherwise guard every signed index against
negative wrap-around, which stops LLVM from vectorising the loop. No slicing and no array
variables inside the per-example path: every array view or array assignment numba makes
costs two atomic reference-count operations, which took half the time of a small network's
step. The public functions unpack the NamedTuples once; the internal helpers (leading
underscore) take the arrays themselves: theta, the layout table ``tab`` (``Spec.table``)
and the workspace buffers.

Scope: fully-connected feed-forward networks, one thread per workspace. Non-goals here:
validation (the Python layer does it), shuffling, schedules (Python owns the outer loop).
"""
import numpy as np
from numba.extending import overload

from . import activations as act
from . import losses
from ._jit import borrow, jit
from .layout import ACT, B_OFF, SIZES, U_OFF, W_OFF

U = np.uint64  # index type of the hot loops (see the module docstring)


def cast_like(arr, value):
    """``value`` converted to ``arr``'s dtype (identity in pure Python)."""
    return value


@overload(cast_like)
def _cast_like_impl(arr, value):
    dtype = arr.dtype

    def impl(arr, value):
        return dtype(value)

    return impl


# ---------------------------------------------------------------------- internal helpers
@jit
def _zero(buf, o, n):
    for k in range(n):
        buf[o + k] = 0.0


@jit
def _load_row(a, X, i, n0):
    """a^0 = X[i] (the input layer's slot of the activation buffer)."""
    for k in range(n0):
        a[k] = X[i, k]


@jit
def _layer_forward(theta, tab, z, a, l):
    """z^(l+1) = W^l a^l + b^l and a^(l+1) = g(z^(l+1))."""
    n_in = U(tab[SIZES, l])
    n_out = U(tab[SIZES, l + 1])
    wo = U(tab[W_OFF, l])
    bo = U(tab[B_OFF, l])
    ai = U(tab[U_OFF, l])  # a^l starts here
    zo = U(tab[U_OFF, l + 1])  # z^(l+1) and a^(l+1) start here
    for j in range(n_out):
        row = wo + j * n_in  # W^l[j, 0]
        s = cast_like(theta, 0.0)  # accumulate in theta's dtype
        for k in range(n_in):
            s += theta[row + k] * a[ai + k]
        z[zo + j] = s + theta[bo + j]
    act.activate(tab[ACT, l], z, a, zo, n_out)


@jit
def _forward(theta, tab, z, a):
    """Forward pass of the example already in a^0."""
    for l in range(tab.shape[1] - 1):
        _layer_forward(theta, tab, z, a, l)


@jit
def _out_slot(tab):
    """(offset, width) of the output layer in the workspace buffers."""
    L = tab.shape[1]
    return U(tab[U_OFF, L - 1]), U(tab[SIZES, L - 1])


@jit
def _output_delta(tab, loss, z, a, delta, Y, i):
    """delta^(L-1) from row i of Y into delta; returns the example's cost."""
    o, n = _out_slot(tab)
    return losses.output_delta(loss, tab[ACT, tab.shape[1] - 2], z, a, delta, o, n, Y, i)


@jit
def _cost(tab, loss, z, a, Y, i):
    o, n = _out_slot(tab)
    return losses.cost(loss, tab[ACT, tab.shape[1] - 2], z, a, o, n, Y, i)


@jit
def _backward_update_plain(theta, tab, z, a, delta, lr, lowest):
    """Fused backward sweep and update of layers L-2 .. lowest, for l2 = 0 (its own loop
    body vectorises best)."""
    for l in range(tab.shape[1] - 2, lowest - 1, -1):
        n_in = U(tab[SIZES, l])
        n_out = U(tab[SIZES, l + 1])
        wo = U(tab[W_OFF, l])
        bo = U(tab[B_OFF, l])
        ai = U(tab[U_OFF, l])  # a^l and delta^l
        do = U(tab[U_OFF, l + 1])  # delta^(l+1)
        if l > 0:
            _zero(delta, ai, n_in)
            for j in range(n_out):
                dj = delta[do + j]
                c = lr * dj
                row = wo + j * n_in
                for k in range(n_in):
                    # the old W[j, k] feeds delta^l before it is updated
                    delta[ai + k] += theta[row + k] * dj
                    theta[row + k] -= c * a[ai + k]
                theta[bo + j] -= c
            act.mul_derivative(tab[ACT, l - 1], z, a, delta, ai, n_in)
        else:
            # the input layer needs no delta: update only
            for j in range(n_out):
                c = lr * delta[do + j]
                row = wo + j * n_in
                for k in range(n_in):
                    theta[row + k] -= c * a[k]
                theta[bo + j] -= c


@jit
def _backward_update_l2(theta, tab, z, a, delta, lr, l2, lowest):
    """Fused backward sweep and update of layers L-2 .. lowest with weight decay (l2 * W
    added to the weights' gradient)."""
    for l in range(tab.shape[1] - 2, lowest - 1, -1):
        n_in = U(tab[SIZES, l])
        n_out = U(tab[SIZES, l + 1])
        wo = U(tab[W_OFF, l])
        bo = U(tab[B_OFF, l])
        ai = U(tab[U_OFF, l])
        do = U(tab[U_OFF, l + 1])
        if l > 0:
            _zero(delta, ai, n_in)
            for j in range(n_out):
                dj = delta[do + j]
                row = wo + j * n_in
                for k in range(n_in):
                    w = theta[row + k]
                    delta[ai + k] += w * dj
                    theta[row + k] = w - lr * (dj * a[ai + k] + l2 * w)
                theta[bo + j] -= lr * dj
            act.mul_derivative(tab[ACT, l - 1], z, a, delta, ai, n_in)
        else:
            for j in range(n_out):
                dj = delta[do + j]
                row = wo + j * n_in
                for k in range(n_in):
                    w = theta[row + k]
                    theta[row + k] = w - lr * (dj * a[k] + l2 * w)
                theta[bo + j] -= lr * dj


@jit
def _backward_update(theta, tab, z, a, delta, lr, l2, lowest=0):
    """Fused backward sweep and update of layers L-2 .. lowest."""
    if l2 == 0.0:
        _backward_update_plain(theta, tab, z, a, delta, lr, lowest)
    else:
        _backward_update_l2(theta, tab, z, a, delta, lr, l2, lowest)


@jit
def _first_layer_update_forward(theta, tab, z, a, delta, lr, l2, x_next):
    """Update W^0 and b^0 from delta^1 and a^0 = x_t and, in the same sweep over W^0,
    compute the next example's z^1 = W^0 x_(t+1) + b^0 from the updated values, then a^1.

    Exactly the update followed by the next example's first-layer forward pass, but W^0
    (the largest matrix of a typical network) is streamed once instead of twice.
    x_next is read from ``delta[x_next : x_next + n_in]``, the otherwise unused delta^0 slot.
    """
    n_in = U(tab[SIZES, 0])
    n_out = U(tab[SIZES, 1])
    wo = U(tab[W_OFF, 0])
    bo = U(tab[B_OFF, 0])
    do = U(tab[U_OFF, 1])  # delta^1, z^1, a^1
    if l2 == 0.0:
        for j in range(n_out):
            c = lr * delta[do + j]
            row = wo + j * n_in
            s = cast_like(theta, 0.0)
            for k in range(n_in):
                w = theta[row + k] - c * a[k]
                theta[row + k] = w
                s += w * delta[x_next + k]
            b = theta[bo + j] - c
            theta[bo + j] = b
            z[do + j] = s + b
    else:
        for j in range(n_out):
            dj = delta[do + j]
            row = wo + j * n_in
            s = cast_like(theta, 0.0)
            for k in range(n_in):
                w = theta[row + k]
                w = w - lr * (dj * a[k] + l2 * w)
                theta[row + k] = w
                s += w * delta[x_next + k]
            b = theta[bo + j] - lr * dj
            theta[bo + j] = b
            z[do + j] = s + b
    act.activate(tab[ACT, 0], z, a, do, n_out)


@jit
def _hidden_derivative(tab, z, a, delta, mask, l, ai, n_in, dropout):
    """delta^l *= g'(z^l) (times the dropout mask under dropout)."""
    if dropout:
        for k in range(n_in):
            delta[ai + k] *= mask[ai + k]
        act.mul_derivative_z(tab[ACT, l - 1], z, delta, ai, n_in)
    else:
        act.mul_derivative(tab[ACT, l - 1], z, a, delta, ai, n_in)


@jit
def _backward_accumulate(theta, tab, z, a, delta, grad, mask, dropout):
    """Recursive deltas (times the dropout mask when ``dropout``), adding the example's
    gradient to grad (theta unchanged)."""
    for l in range(tab.shape[1] - 2, -1, -1):
        n_in = U(tab[SIZES, l])
        n_out = U(tab[SIZES, l + 1])
        wo = U(tab[W_OFF, l])
        bo = U(tab[B_OFF, l])
        ai = U(tab[U_OFF, l])
        do = U(tab[U_OFF, l + 1])
        if l > 0:
            _zero(delta, ai, n_in)
        for j in range(n_out):
            dj = delta[do + j]
            row = wo + j * n_in
            if l > 0:
                for k in range(n_in):
                    delta[ai + k] += theta[row + k] * dj
                    grad[row + k] += dj * a[ai + k]
            else:
                for k in range(n_in):
                    grad[row + k] += dj * a[ai + k]
            grad[bo + j] += dj
        if l > 0:
            _hidden_derivative(tab, z, a, delta, mask, l, ai, n_in, dropout)


@jit
def _apply_gradient(theta, tab, grad, lr, l2, m):
    """theta -= lr * (grad / m + l2 * W) (l2 on weights only), then zero grad."""
    mf = cast_like(theta, m)
    for l in range(tab.shape[1] - 1):
        n_out = U(tab[SIZES, l + 1])
        n_w = n_out * U(tab[SIZES, l])
        wo = U(tab[W_OFF, l])
        bo = U(tab[B_OFF, l])
        if l2 == 0.0:
            for k in range(n_w):
                theta[wo + k] -= lr * (grad[wo + k] / mf)
                grad[wo + k] = 0.0
        else:
            for k in range(n_w):
                theta[wo + k] -= lr * (grad[wo + k] / mf + l2 * theta[wo + k])
                grad[wo + k] = 0.0
        for k in range(n_out):
            theta[bo + k] -= lr * (grad[bo + k] / mf)
            grad[bo + k] = 0.0


@jit
def _l2_term(theta, spec):
    """sum of W^2 over every weight (not bias)."""
    theta = borrow(theta)
    tab = borrow(spec.table)
    s = 0.0
    for l in range(tab.shape[1] - 1):
        wo = U(tab[W_OFF, l])
        for k in range(U(tab[SIZES, l + 1] * tab[SIZES, l])):
            s += theta[wo + k] * theta[wo + k]
    return s


# ---------------------------------------------------------------------- public, per example
@jit
def forward(theta, spec, ws, x):
    """Forward pass of one example x; returns a^(L-1), a view into ws.a (valid until the next call)."""
    tab = borrow(spec.table)
    a = borrow(ws.a)
    x = borrow(x)
    for k in range(U(tab[SIZES, 0])):
        a[k] = x[k]
    _forward(borrow(theta), tab, borrow(ws.z), a)
    o, n = _out_slot(tab)
    return ws.a[o:o + n]  # a view of the real buffer, never of a borrowed one


@jit
def output_delta(spec, ws, y):
    """delta^(L-1) = dC/dz^(L-1) into ws.delta after ``forward``; returns the example's cost."""
    return _output_delta(borrow(spec.table), spec.loss, borrow(ws.z), borrow(ws.a),
                         borrow(ws.delta), borrow(y).reshape((1, y.shape[0])), U(0))


@jit
def example_cost(spec, ws, y):
    """The cost of the example last passed to ``forward`` (no delta)."""
    return _cost(borrow(spec.table), spec.loss, borrow(ws.z), borrow(ws.a),
                 borrow(y).reshape((1, y.shape[0])), U(0))


@jit
def backward_update(theta, spec, ws, lr, l2=0.0):
    """Recursive deltas fused with the in-place SGD update, after ``forward`` and ``output_delta``.

    For l = L-2 .. 0, each row of W^l is read once: its old values feed
    delta^l = (W^l)^T delta^(l+1) * g'(z^l) and are then replaced by
    W^l - lr * (delta^(l+1) (a^l)^T + l2 * W^l); b^l -= lr * delta^(l+1).
    """
    _backward_update(borrow(theta), borrow(spec.table), borrow(ws.z), borrow(ws.a),
                     borrow(ws.delta), lr, l2)


@jit
def backward_accumulate(theta, spec, ws):
    """Recursive deltas, adding this example's gradient to ws.grad (theta is not changed).

    ws.grad[W^l] += delta^(l+1) (a^l)^T,  ws.grad[b^l] += delta^(l+1).
    """
    z = borrow(ws.z)
    _backward_accumulate(borrow(theta), borrow(spec.table), z, borrow(ws.a), borrow(ws.delta),
                         borrow(ws.grad), z, False)


@jit
def apply_gradient(theta, spec, ws, lr, l2, m):
    """theta -= lr * (ws.grad / m + l2 * W) (l2 on weights only), then zero ws.grad.

    ``m`` is the number of examples summed into ws.grad (the mini-batch size).
    """
    _apply_gradient(borrow(theta), borrow(spec.table), borrow(ws.grad), lr, l2, m)


@jit
def sgd_step(theta, spec, ws, x, y, lr, l2=0.0):
    """One in-place per-example SGD step on (x, y); returns that example's cost before the step."""
    theta = borrow(theta)
    tab = borrow(spec.table)
    z = borrow(ws.z)
    a = borrow(ws.a)
    delta = borrow(ws.delta)
    x = borrow(x)
    for k in range(U(tab[SIZES, 0])):
        a[k] = x[k]
    _forward(theta, tab, z, a)
    cost = _output_delta(tab, spec.loss, z, a, delta, borrow(y).reshape((1, y.shape[0])), U(0))
    _backward_update(theta, tab, z, a, delta, lr, l2)
    return cost


@jit
def _epoch_one_hidden(theta, tab, loss_code, z, a, delta, X, Y, order, lr):
    """``epoch`` for per-example SGD without l2 on a network with one hidden layer (the
    commonest shape), written out as one loop: same operations in the same order as the
    general path (so bit-identical results), without its per-layer calls and loops, which
    dominate the time of very small networks (0.30 -> 0.18 µs per example on 2-4-1)."""
    n0 = U(tab[SIZES, 0])
    n1 = U(tab[SIZES, 1])
    n2 = U(tab[SIZES, 2])
    w0 = U(tab[W_OFF, 0])
    b0 = U(tab[B_OFF, 0])
    w1 = U(tab[W_OFF, 1])
    b1 = U(tab[B_OFF, 1])
    u1 = U(tab[U_OFF, 1])
    u2 = U(tab[U_OFF, 2])
    hidden = tab[ACT, 0]
    out = tab[ACT, 1]
    n = order.shape[0]
    total = 0.0
    _load_row(a, X, U(order[0]), n0)
    _layer_forward(theta, tab, z, a, 0)
    for t in range(n):
        # invariant: a^0 holds example t and the hidden layer is computed
        i = U(order[t])
        for j in range(n2):
            s = cast_like(theta, 0.0)
            for k in range(n1):
                s += theta[w1 + j * n1 + k] * a[u1 + k]
            z[u2 + j] = s + theta[b1 + j]
        act.activate(out, z, a, u2, n2)
        total += losses.output_delta(loss_code, out, z, a, delta, u2, n2, Y, i)
        _zero(delta, u1, n1)
        for j in range(n2):
            dj = delta[u2 + j]
            c = lr * dj
            row = w1 + j * n1
            for k in range(n1):
                delta[u1 + k] += theta[row + k] * dj
                theta[row + k] -= c * a[u1 + k]
            theta[b1 + j] -= c
        act.mul_derivative(hidden, z, a, delta, u1, n1)
        # first layer: update with example t, forward of example t+1, one sweep
        nxt = U(order[t + 1]) if t + 1 < n else i
        for j in range(n1):
            c = lr * delta[u1 + j]
            row = w0 + j * n0
            s = cast_like(theta, 0.0)
            for k in range(n0):
                w = theta[row + k] - c * a[k]
                theta[row + k] = w
                s += w * X[nxt, k]
            bj = theta[b0 + j] - c
            theta[b0 + j] = bj
            z[u1 + j] = s + bj
        act.activate(hidden, z, a, u1, n1)
        _load_row(a, X, nxt, n0)
    return total


# ---------------------------------------------------------------------- public, whole passes
@jit
def epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size):
    """One pass over the rows ``order`` of (X, Y), updating theta in place.

    batch_size 1: per-example SGD (``sgd_step``). batch_size b > 1: consecutive groups of b
    rows of ``order`` (the last may be smaller), each updating with its mean gradient.
    Returns the sum of the examples' costs, each measured just before its update.
    """
    theta = borrow(theta)
    X = borrow(X)
    Y = borrow(Y)
    order = borrow(order)
    tab = borrow(spec.table)
    loss_code = spec.loss
    z = borrow(ws.z)
    a = borrow(ws.a)
    delta = borrow(ws.delta)
    grad = borrow(ws.grad)
    n0 = U(tab[SIZES, 0])
    n = order.shape[0]
    total = 0.0
    if batch_size == 1:
        if n == 0:
            return total
        n_layers = tab.shape[1]
        if n_layers == 3 and l2 == 0.0:
            return _epoch_one_hidden(theta, tab, loss_code, z, a, delta, X, Y, order, lr)
        _load_row(a, X, U(order[0]), n0)
        _layer_forward(theta, tab, z, a, 0)
        for t in range(n):
            # invariant: a^0 holds example t and layer 1 (z^1, a^1) is already computed
            i = U(order[t])
            for l in range(1, n_layers - 1):
                _layer_forward(theta, tab, z, a, l)
            total += _output_delta(tab, loss_code, z, a, delta, Y, i)
            _backward_update(theta, tab, z, a, delta, lr, l2, 1)
            # the first layer's update shares its sweep over W^0 with the next example's
            # forward pass (after the last example: a harmless pass over the same row)
            nxt = U(order[t + 1]) if t + 1 < n else i
            _load_row(delta, X, nxt, n0)  # into the otherwise unused delta^0 slot
            _first_layer_update_forward(theta, tab, z, a, delta, lr, l2, U(0))
            for k in range(n0):
                a[k] = delta[k]
        return total
    _zero(grad, U(0), U(grad.shape[0]))
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        for t in range(start, stop):
            i = U(order[t])
            _load_row(a, X, i, n0)
            _forward(theta, tab, z, a)
            total += _output_delta(tab, loss_code, z, a, delta, Y, i)
            _backward_accumulate(theta, tab, z, a, delta, grad, z, False)
        _apply_gradient(theta, tab, grad, lr, l2, stop - start)
        start = stop
    return total


@jit
def loss(theta, spec, ws, X, Y, l2):
    """Mean cost over the rows of (X, Y) plus (l2 / 2) * sum(W^2)."""
    theta = borrow(theta)
    X = borrow(X)
    Y = borrow(Y)
    tab = borrow(spec.table)
    z = borrow(ws.z)
    a = borrow(ws.a)
    n0 = U(tab[SIZES, 0])
    n = X.shape[0]
    total = 0.0
    for i in range(U(n)):
        _load_row(a, X, i, n0)
        _forward(theta, tab, z, a)
        total += _cost(tab, spec.loss, z, a, Y, i)
    return total / n + 0.5 * l2 * _l2_term(theta, spec)


@jit
def loss_and_gradient(theta, spec, ws, X, Y, l2, grad):
    """Write the gradient of ``loss`` into grad (theta's layout); return ``loss``.

    grad = mean_i dC_i/dtheta + l2 * W on the weights.
    """
    theta = borrow(theta)
    X = borrow(X)
    Y = borrow(Y)
    grad = borrow(grad)
    tab = borrow(spec.table)
    z = borrow(ws.z)
    a = borrow(ws.a)
    delta = borrow(ws.delta)
    acc = borrow(ws.grad)
    P = U(grad.shape[0])
    _zero(acc, U(0), P)
    n0 = U(tab[SIZES, 0])
    n = X.shape[0]
    total = 0.0
    for i in range(U(n)):
        _load_row(a, X, i, n0)
        _forward(theta, tab, z, a)
        total += _output_delta(tab, spec.loss, z, a, delta, Y, i)
        _backward_accumulate(theta, tab, z, a, delta, acc, z, False)
    nf = cast_like(grad, n)
    for p in range(P):
        grad[p] = acc[p] / nf
        acc[p] = 0.0
    reg = 0.0
    if l2 != 0.0:
        for l in range(tab.shape[1] - 1):
            wo = U(tab[W_OFF, l])
            for k in range(U(tab[SIZES, l + 1] * tab[SIZES, l])):
                w = theta[wo + k]
                grad[wo + k] += l2 * w
                reg += w * w
    return total / n + 0.5 * l2 * reg


@jit
def predict(theta, spec, ws, X, out):
    """out[i] = a^(L-1) for each row X[i]."""
    theta = borrow(theta)
    X = borrow(X)
    out = borrow(out)
    tab = borrow(spec.table)
    z = borrow(ws.z)
    a = borrow(ws.a)
    n0 = U(tab[SIZES, 0])
    o, n = _out_slot(tab)
    for i in range(U(X.shape[0])):
        _load_row(a, X, i, n0)
        _forward(theta, tab, z, a)
        for k in range(n):
            out[i, k] = a[o + k]


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
    tab = borrow(table)
    xb = borrow(x)
    yb = borrow(y)
    lr = lr_buf[0]
    for k in range(U(xb.shape[0])):
        if not np.isfinite(xb[k]):
            return 1, 0.0
    if not _targets_ok(tab, loss_code, yb):
        return 1, 0.0
    th = borrow(theta)
    bk = borrow(backup)
    ub = borrow(units)
    zb = ub[0]  # views of a borrowed array are not reference counted either
    ab = ub[1]
    db = ub[2]
    P = U(th.shape[0])
    for p in range(P):
        bk[p] = th[p]
    for k in range(U(xb.shape[0])):
        ab[k] = xb[k]
    _forward(th, tab, zb, ab)
    cost = _output_delta(tab, loss_code, zb, ab, db, yb.reshape((1, yb.shape[0])), U(0))
    finite = np.isfinite(cost)
    if finite:
        _backward_update(th, tab, zb, ab, db, lr, 0.0)
        for p in range(P):
            if not np.isfinite(th[p]):
                finite = False
                break
    if not finite:
        for p in range(P):
            th[p] = bk[p]
        return 2, cost
    return 0, cost


# ---------------------------------------------------------------------- mini-batches
@jit
def _batch_forward(theta, tab, Z, A, m):
    """Forward pass of the m examples whose inputs are in A[b, 0:n0], b < m, four
    examples per sweep over each weight matrix."""
    for l in range(tab.shape[1] - 1):
        n_in = U(tab[SIZES, l])
        n_out = U(tab[SIZES, l + 1])
        wo = U(tab[W_OFF, l])
        bo = U(tab[B_OFF, l])
        ai = U(tab[U_OFF, l])
        zo = U(tab[U_OFF, l + 1])
        m4 = m - m % 4
        # blocks of four examples: each weight is loaded once for four products, and the
        # four input rows stay in L1 cache while the layer's rows stream past
        for b in range(0, m4, 4):
            for j in range(n_out):
                row = wo + j * n_in
                s0 = cast_like(theta, 0.0)
                s1 = s0
                s2 = s0
                s3 = s0
                for k in range(n_in):
                    w = theta[row + k]
                    s0 += w * A[b, ai + k]
                    s1 += w * A[b + 1, ai + k]
                    s2 += w * A[b + 2, ai + k]
                    s3 += w * A[b + 3, ai + k]
                bj = theta[bo + j]
                Z[b, zo + j] = s0 + bj
                Z[b + 1, zo + j] = s1 + bj
                Z[b + 2, zo + j] = s2 + bj
                Z[b + 3, zo + j] = s3 + bj
        for b in range(m4, m):
            for j in range(n_out):
                row = wo + j * n_in
                s = cast_like(theta, 0.0)
                for k in range(n_in):
                    s += theta[row + k] * A[b, ai + k]
                Z[b, zo + j] = s + theta[bo + j]
        for b in range(m):
            act.activate(tab[ACT, l], Z[b], A[b], zo, n_out)


@jit
def _batch_backward_accumulate(theta, tab, Z, A, D, grad, m):
    """Recursive deltas of m examples (output deltas in D) and their summed gradient into
    grad, four examples per sweep like ``_batch_forward``."""
    for l in range(tab.shape[1] - 2, -1, -1):
        n_in = U(tab[SIZES, l])
        n_out = U(tab[SIZES, l + 1])
        wo = U(tab[W_OFF, l])
        bo = U(tab[B_OFF, l])
        ai = U(tab[U_OFF, l])
        do = U(tab[U_OFF, l + 1])
        if l > 0:
            for b in range(m):
                _zero(D[b], ai, n_in)
        m4 = m - m % 4
        # blocks of four examples: one read-modify-write of a gradient row and one load of
        # each weight serve four examples, whose rows stay in L1 cache
        for b in range(0, m4, 4):
            for j in range(n_out):
                row = wo + j * n_in
                d0 = D[b, do + j]
                d1 = D[b + 1, do + j]
                d2 = D[b + 2, do + j]
                d3 = D[b + 3, do + j]
                if l > 0:
                    for k in range(n_in):
                        w = theta[row + k]
                        D[b, ai + k] += w * d0
                        D[b + 1, ai + k] += w * d1
                        D[b + 2, ai + k] += w * d2
                        D[b + 3, ai + k] += w * d3
                for k in range(n_in):
                    grad[row + k] += (d0 * A[b, ai + k] + d1 * A[b + 1, ai + k]
                                      + d2 * A[b + 2, ai + k] + d3 * A[b + 3, ai + k])
                grad[bo + j] += d0 + d1 + d2 + d3
        for b in range(m4, m):
            for j in range(n_out):
                row = wo + j * n_in
                dj = D[b, do + j]
                if l > 0:
                    for k in range(n_in):
                        D[b, ai + k] += theta[row + k] * dj
                        grad[row + k] += dj * A[b, ai + k]
                else:
                    for k in range(n_in):
                        grad[row + k] += dj * A[b, ai + k]
                grad[bo + j] += dj
        if l > 0:
            for b in range(m):
                act.mul_derivative(tab[ACT, l - 1], Z[b], A[b], D[b], ai, n_in)


@jit
def epoch_batched(theta, spec, ws, batch_units, X, Y, order, lr, l2, batch_size):
    """``epoch`` for batch_size > 1 with the examples of a mini-batch processed four at a
    time: each weight matrix is streamed once per four examples in the forward pass and
    once in the backward pass (per-example accumulation streams it for every example).

    batch_units: (3, batch_size, n_units) scratch of theta's dtype (z, a, delta of every
    example of a mini-batch). Same results as ``epoch`` up to the order of floating-point
    summation (four examples' gradients are summed before they are added)."""
    theta = borrow(theta)
    X = borrow(X)
    Y = borrow(Y)
    order = borrow(order)
    tab = borrow(spec.table)
    grad = borrow(ws.grad)
    bu = borrow(batch_units)
    Z = bu[0]
    A = bu[1]
    D = bu[2]
    n0 = U(tab[SIZES, 0])
    o, n_out = _out_slot(tab)
    out_code = tab[ACT, tab.shape[1] - 2]
    n = order.shape[0]
    total = 0.0
    _zero(grad, U(0), U(grad.shape[0]))
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        m = stop - start
        for b in range(m):
            i = U(order[start + b])
            for k in range(n0):
                A[b, k] = X[i, k]
        _batch_forward(theta, tab, Z, A, m)
        for b in range(m):
            total += losses.output_delta(spec.loss, out_code, Z[b], A[b], D[b], o, n_out, Y,
                                         U(order[start + b]))
        _batch_backward_accumulate(theta, tab, Z, A, D, grad, m)
        _apply_gradient(theta, tab, grad, lr, l2, m)
        start = stop
    return total
