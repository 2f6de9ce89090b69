"""The allocation-free numba kernels: fastbp's engine and its public API for ``@njit`` code.

Every function here is a plain ``@njit(cache=True, nogil=True)`` function of arrays, the
``Spec`` / ``Workspace`` NamedTuples (see ``fastbp.layout``) and scalars. None of them
allocates: they write into theta and the workspace in place. A user's own ``@njit`` code
can call them directly::

    spec, ws, theta = net.spec, net.workspace(), net.theta

    @njit
    def simulate(theta, spec, ws, ...):
        for step in range(n_steps):
            out = fastbp.kernels.forward(theta, spec, ws, x)     # view into ws.a
            cost = fastbp.kernels.sgd_step(theta, spec, ws, x, y, lr)

Shapes: theta (P,), x (sizes[0],), y (sizes[-1],), X (n, sizes[0]), Y (n, sizes[-1]), all
C-contiguous and of theta's dtype; pass lr and l2 as scalars of theta's dtype for float32
networks (a float64 scalar works but makes the update arithmetic float64).

Math (layers indexed from 0 here, from 1 in the textbook):
    z^(l+1) = W^l a^l + b^l,  a^(l+1) = g(z^(l+1))
    delta^(L-1) = dC/dz^(L-1) (fused a - y for cross-entropy with sigmoid/softmax)
    delta^l = (W^l)^T delta^(l+1) * g'(z^l)
    dC/dW^l = delta^(l+1) (a^l)^T,  dC/db^l = delta^(l+1)

Loops run over 1-D slice views of theta (``row = W[j*n_in:(j+1)*n_in]``) rather than
computed flat indices: on this hardware that is what lets LLVM vectorise them.

Scope: fully-connected feed-forward networks, one thread per workspace. Non-goals here:
validation (the Python layer does it), shuffling, schedules (Python owns the outer loop).
"""
from numba.extending import overload

from . import activations as act
from . import losses
from ._jit import jit


def cast_like(arr, value):
    """``value`` converted to ``arr``'s dtype (identity in pure Python)."""
    return value


@overload(cast_like)
def _cast_like_impl(arr, value):
    dtype = arr.dtype

    def impl(arr, value):
        return dtype(value)

    return impl


@jit
def _zero(buf):
    for k in range(buf.shape[0]):
        buf[k] = 0.0


@jit
def layer_forward(theta, spec, ws, l):
    """z^(l+1) = W^l a^l + b^l and a^(l+1) = g(z^(l+1)), written into ws."""
    n_in = spec.sizes[l]
    n_out = spec.sizes[l + 1]
    wo = spec.w_off[l]
    bo = spec.b_off[l]
    W = theta[wo:wo + n_out * n_in]
    b = theta[bo:bo + n_out]
    u = spec.u_off
    a_in = ws.a[u[l]:u[l + 1]]
    z_out = ws.z[u[l + 1]:u[l + 2]]
    a_out = ws.a[u[l + 1]:u[l + 2]]
    for j in range(n_out):
        row = W[j * n_in:(j + 1) * n_in]
        s = cast_like(row, 0.0)  # accumulate in theta's dtype
        for k in range(n_in):
            s += row[k] * a_in[k]
        z_out[j] = s + b[j]
    act.activate(spec.act[l], z_out, a_out)


@jit
def forward(theta, spec, ws, x):
    """Forward pass of one example x; returns a^(L-1), a view into ws.a (valid until the next call)."""
    n0 = spec.sizes[0]
    a0 = ws.a[0:n0]
    for k in range(n0):
        a0[k] = x[k]
    n_layers = spec.sizes.shape[0]
    for l in range(n_layers - 1):
        layer_forward(theta, spec, ws, l)
    u = spec.u_off
    return ws.a[u[n_layers - 1]:u[n_layers]]


@jit
def output_delta(spec, ws, y):
    """delta^(L-1) = dC/dz^(L-1) into ws.delta after ``forward``; returns the example's cost."""
    n_layers = spec.sizes.shape[0]
    u = spec.u_off
    lo, hi = u[n_layers - 1], u[n_layers]
    return losses.output_delta(spec.loss, spec.act[n_layers - 2], ws.z[lo:hi], ws.a[lo:hi], y,
                               ws.delta[lo:hi])


@jit
def example_cost(spec, ws, y):
    """The cost of the example last passed to ``forward`` (no delta)."""
    n_layers = spec.sizes.shape[0]
    u = spec.u_off
    lo, hi = u[n_layers - 1], u[n_layers]
    return losses.cost(spec.loss, spec.act[n_layers - 2], ws.z[lo:hi], ws.a[lo:hi], y)


@jit
def _backward_update_plain(theta, spec, ws, lr):
    """``backward_update`` with l2 = 0 (kept separate: one loop body per case vectorises best)."""
    u = spec.u_off
    for l in range(spec.sizes.shape[0] - 2, -1, -1):
        n_in = spec.sizes[l]
        n_out = spec.sizes[l + 1]
        wo = spec.w_off[l]
        bo = spec.b_off[l]
        W = theta[wo:wo + n_out * n_in]
        b = theta[bo:bo + n_out]
        d = ws.delta[u[l + 1]:u[l + 2]]
        a_in = ws.a[u[l]:u[l + 1]]
        if l > 0:
            back = ws.delta[u[l]:u[l + 1]]
            _zero(back)
            for j in range(n_out):
                dj = d[j]
                c = lr * dj
                row = W[j * n_in:(j + 1) * n_in]
                for k in range(n_in):
                    back[k] += row[k] * dj
                    row[k] -= c * a_in[k]
                b[j] -= c
            act.mul_derivative(spec.act[l - 1], ws.z[u[l]:u[l + 1]], a_in, back)
        else:
            # the input layer needs no delta: update only
            for j in range(n_out):
                c = lr * d[j]
                row = W[j * n_in:(j + 1) * n_in]
                for k in range(n_in):
                    row[k] -= c * a_in[k]
                b[j] -= c


@jit
def _backward_update_l2(theta, spec, ws, lr, l2):
    """``backward_update`` with weight decay: the step adds l2 * W to each weight's gradient."""
    u = spec.u_off
    for l in range(spec.sizes.shape[0] - 2, -1, -1):
        n_in = spec.sizes[l]
        n_out = spec.sizes[l + 1]
        wo = spec.w_off[l]
        bo = spec.b_off[l]
        W = theta[wo:wo + n_out * n_in]
        b = theta[bo:bo + n_out]
        d = ws.delta[u[l + 1]:u[l + 2]]
        a_in = ws.a[u[l]:u[l + 1]]
        if l > 0:
            back = ws.delta[u[l]:u[l + 1]]
            _zero(back)
            for j in range(n_out):
                dj = d[j]
                row = W[j * n_in:(j + 1) * n_in]
                for k in range(n_in):
                    back[k] += row[k] * dj
                    row[k] -= lr * (dj * a_in[k] + l2 * row[k])
                b[j] -= lr * dj
            act.mul_derivative(spec.act[l - 1], ws.z[u[l]:u[l + 1]], a_in, back)
        else:
            for j in range(n_out):
                dj = d[j]
                row = W[j * n_in:(j + 1) * n_in]
                for k in range(n_in):
                    row[k] -= lr * (dj * a_in[k] + l2 * row[k])
                b[j] -= lr * dj


@jit
def backward_update(theta, spec, ws, lr, l2=0.0):
    """Recursive deltas fused with the in-place SGD update, after ``forward`` and ``output_delta``.

    For l = L-2 .. 0, each row of W^l is read once: its old values feed
    delta^l = (W^l)^T delta^(l+1) * g'(z^l) and are then replaced by
    W^l - lr * (delta^(l+1) (a^l)^T + l2 * W^l); b^l -= lr * delta^(l+1).
    """
    if l2 == 0.0:
        _backward_update_plain(theta, spec, ws, lr)
    else:
        _backward_update_l2(theta, spec, ws, lr, l2)


@jit
def backward_accumulate(theta, spec, ws):
    """Recursive deltas, adding this example's gradient to ws.grad (theta is not changed).

    ws.grad[W^l] += delta^(l+1) (a^l)^T,  ws.grad[b^l] += delta^(l+1).
    """
    u = spec.u_off
    grad = ws.grad
    for l in range(spec.sizes.shape[0] - 2, -1, -1):
        n_in = spec.sizes[l]
        n_out = spec.sizes[l + 1]
        wo = spec.w_off[l]
        bo = spec.b_off[l]
        W = theta[wo:wo + n_out * n_in]
        G = grad[wo:wo + n_out * n_in]
        gb = grad[bo:bo + n_out]
        d = ws.delta[u[l + 1]:u[l + 2]]
        a_in = ws.a[u[l]:u[l + 1]]
        if l > 0:
            back = ws.delta[u[l]:u[l + 1]]
            _zero(back)
            for j in range(n_out):
                dj = d[j]
                row = W[j * n_in:(j + 1) * n_in]
                grow = G[j * n_in:(j + 1) * n_in]
                for k in range(n_in):
                    back[k] += row[k] * dj
                    grow[k] += dj * a_in[k]
                gb[j] += dj
            act.mul_derivative(spec.act[l - 1], ws.z[u[l]:u[l + 1]], a_in, back)
        else:
            for j in range(n_out):
                dj = d[j]
                grow = G[j * n_in:(j + 1) * n_in]
                for k in range(n_in):
                    grow[k] += dj * a_in[k]
                gb[j] += dj


@jit
def apply_gradient(theta, spec, ws, lr, l2, m):
    """theta -= lr * (ws.grad / m + l2 * W) (l2 on weights only), then zero ws.grad.

    ``m`` is the number of examples summed into ws.grad (the mini-batch size).
    """
    grad = ws.grad
    mf = cast_like(theta, m)
    for l in range(spec.sizes.shape[0] - 1):
        n_w = spec.sizes[l + 1] * spec.sizes[l]
        wo = spec.w_off[l]
        bo = spec.b_off[l]
        W = theta[wo:wo + n_w]
        G = grad[wo:wo + n_w]
        if l2 == 0.0:
            for k in range(n_w):
                W[k] -= lr * (G[k] / mf)
                G[k] = 0.0
        else:
            for k in range(n_w):
                W[k] -= lr * (G[k] / mf + l2 * W[k])
                G[k] = 0.0
        n_b = spec.sizes[l + 1]
        b = theta[bo:bo + n_b]
        gb = grad[bo:bo + n_b]
        for k in range(n_b):
            b[k] -= lr * (gb[k] / mf)
            gb[k] = 0.0


@jit
def sgd_step(theta, spec, ws, x, y, lr, l2=0.0):
    """One in-place per-example SGD step on (x, y); returns that example's cost before the step."""
    forward(theta, spec, ws, x)
    cost = output_delta(spec, ws, y)
    backward_update(theta, spec, ws, lr, l2)
    return cost


@jit
def epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size):
    """One pass over the rows ``order`` of (X, Y), updating theta in place.

    batch_size 1: per-example SGD (``sgd_step``). batch_size b > 1: consecutive groups of b
    rows of ``order`` (the last may be smaller), each updating with its mean gradient.
    Returns the sum of the examples' costs, each measured just before its update.
    """
    n = order.shape[0]
    total = 0.0
    if batch_size == 1:
        for t in range(n):
            i = order[t]
            total += sgd_step(theta, spec, ws, X[i], Y[i], lr, l2)
        return total
    _zero(ws.grad)
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        for t in range(start, stop):
            i = order[t]
            forward(theta, spec, ws, X[i])
            total += output_delta(spec, ws, Y[i])
            backward_accumulate(theta, spec, ws)
        apply_gradient(theta, spec, ws, lr, l2, stop - start)
        start = stop
    return total


@jit
def _l2_term(theta, spec):
    """sum of W^2 over every weight (not bias)."""
    s = 0.0
    for l in range(spec.sizes.shape[0] - 1):
        wo = spec.w_off[l]
        W = theta[wo:wo + spec.sizes[l + 1] * spec.sizes[l]]
        for k in range(W.shape[0]):
            s += W[k] * W[k]
    return s


@jit
def loss(theta, spec, ws, X, Y, l2):
    """Mean cost over the rows of (X, Y) plus (l2 / 2) * sum(W^2)."""
    n = X.shape[0]
    total = 0.0
    for i in range(n):
        forward(theta, spec, ws, X[i])
        total += example_cost(spec, ws, Y[i])
    return total / n + 0.5 * l2 * _l2_term(theta, spec)


@jit
def loss_and_gradient(theta, spec, ws, X, Y, l2, grad):
    """Write the gradient of ``loss`` into grad (theta's layout); return ``loss``.

    grad = mean_i dC_i/dtheta + l2 * W on the weights.
    """
    _zero(ws.grad)
    n = X.shape[0]
    total = 0.0
    for i in range(n):
        forward(theta, spec, ws, X[i])
        total += output_delta(spec, ws, Y[i])
        backward_accumulate(theta, spec, ws)
    nf = cast_like(grad, n)
    for p in range(grad.shape[0]):
        grad[p] = ws.grad[p] / nf
        ws.grad[p] = 0.0
    reg = 0.0
    if l2 != 0.0:
        for l in range(spec.sizes.shape[0] - 1):
            wo = spec.w_off[l]
            n_w = spec.sizes[l + 1] * spec.sizes[l]
            W = theta[wo:wo + n_w]
            G = grad[wo:wo + n_w]
            for k in range(n_w):
                G[k] += l2 * W[k]
                reg += W[k] * W[k]
    return total / n + 0.5 * l2 * reg


@jit
def predict(theta, spec, ws, X, out):
    """out[i] = a^(L-1) for each row X[i]."""
    for i in range(X.shape[0]):
        a = forward(theta, spec, ws, X[i])
        o = out[i]
        for k in range(a.shape[0]):
            o[k] = a[k]
