"""The per-layer building blocks every kernel is composed of (inlined into their callers),
and the helpers they call.

Each block works on the flat buffers directly: theta, the layout table ``tab``
(``Spec.table``) and a workspace's z / a / delta / mask buffers (layer l's units at
``tab[U_OFF, l]``), with unsigned indices (``fastbp._jit.U``). Blocks are compiled with
``_jit.inline`` (inlined always), so every constant argument (a loop mode, the epoch's decay
and dropout flags, which ``fastbp.epochs`` makes closure constants) folds before typing,
leaving only the loop body that call site needs. The loops a kernel would otherwise get
many copies of are ``_jit.internal`` helpers, compiled once per dtype and linked into their
callers, where LLVM inlines what it finds small enough (in plain SGD's per-example pass:
``row_sweeps``, ``sgd_bias``, ``offsets``, ``forward_rows``; ``activate`` and the losses stay
calls). The flags are tested in forms numba can fold (``if decay == False``, ``code != SGD``
with the global ``SGD``; not ``not decay`` or ``rules.SGD``): a branch it cannot fold is
typed and compiled even where it never runs.

Math (layers indexed from 0; the textbook numbers them from 1):
    z^(l+1) = W^l a^l + b^l,  a^(l+1) = g(z^(l+1))
    delta^l = (W^l)^T delta^(l+1) * g'(z^l)
    dC/dW^l = delta^(l+1) (a^l)^T,  dC/db^l = delta^(l+1)
"""
from functools import partial

from . import activations as act
from . import losses
from . import rules
from ._jit import U, cast_like, inline, internal
from .dropout import drop_units
from .layout import ACT, B_OFF, SIZES, U_OFF, W_OFF
from .rules import SGD

# what an update does besides the update (always a literal at the call site)
PLAIN = 0  # rows j of W with gradient delta_j * x + l2 * W[j]: the update only
BACK = 1  # PLAIN, and first delta^l += delta_j * W[j] with the old weights
FWD = 2  # PLAIN, then sum_i W[j, i] * d[d0 + i] with the new weights (the next forward)
BIAS = 3  # one range with gradient x (a bias vector, gradient delta)
MEAN = 4  # one range with gradient x / s + l2 * w (a summed mini-batch gradient); zeroes x


@inline
def zero(buf, o, n):
    for k in range(n):
        buf[o + k] = 0.0


@inline
def load_row(a, X, i, n0):
    """a^0 = X[i] (the input layer's slot of an activation buffer)."""
    for k in range(n0):
        a[k] = X[i, k]


@inline
def four_rows(mode, decay, theta, lr, l2, r0, n, delta, do, x, x0, d, z, bo):
    """``sgd_rows`` on the four rows of n weights from r0 (deltas delta[do:do+4]) in one
    sweep: each x[x0+i] (and BACK's delta[x0+i], FWD's d[i]) is loaded once for four rows,
    and BACK stores delta[x0+i] once instead of four times. One sweep per row stored delta
    (BACK) or loaded x and d (FWD) once per weight, on top of the weight's own load and
    store. Pinned, one core, time per sweep of a layer (ratio to one plain read-modify-
    write sweep of the same weights): 512x512 BACK 74.6 -> 48.0 µs (1.59 -> 1.02, float64),
    24.3 -> 18.4 µs (1.37 -> 1.04, float32); 100x784 FWD 13.2 -> 11.7 µs (1.17 -> 1.03),
    7.0 -> 6.1 µs (1.12 -> 0.98). Each weight's update is the one-row formula; BACK sums
    its four products before adding them to delta, and FWD's four dot products vectorise
    differently, so those sums may round differently (a few ulp; the trajectory tests hold
    1e-12 against the baseline)."""
    d0 = delta[do]
    d1 = delta[do + U(1)]
    d2 = delta[do + U(2)]
    d3 = delta[do + U(3)]
    r1 = r0 + n
    r2 = r1 + n
    r3 = r2 + n
    acc0 = cast_like(theta, 0.0)
    acc1 = cast_like(theta, 0.0)
    acc2 = cast_like(theta, 0.0)
    acc3 = cast_like(theta, 0.0)
    if decay == False:  # noqa: E712 (a comparison numba folds on a constant)
        c0 = lr * d0
        c1 = lr * d1
        c2 = lr * d2
        c3 = lr * d3
        for i in range(n):
            xi = x[x0 + i]
            w0 = theta[r0 + i]
            w1 = theta[r1 + i]
            w2 = theta[r2 + i]
            w3 = theta[r3 + i]
            if mode == BACK:
                delta[x0 + i] += w0 * d0 + w1 * d1 + w2 * d2 + w3 * d3
            w0 = rules.sgd(w0, xi, c0)
            w1 = rules.sgd(w1, xi, c1)
            w2 = rules.sgd(w2, xi, c2)
            w3 = rules.sgd(w3, xi, c3)
            theta[r0 + i] = w0
            theta[r1 + i] = w1
            theta[r2 + i] = w2
            theta[r3 + i] = w3
            if mode == FWD:
                di = d[i]
                acc0 += w0 * di
                acc1 += w1 * di
                acc2 += w2 * di
                acc3 += w3 * di
    else:
        for i in range(n):
            xi = x[x0 + i]
            w0 = theta[r0 + i]
            w1 = theta[r1 + i]
            w2 = theta[r2 + i]
            w3 = theta[r3 + i]
            if mode == BACK:
                delta[x0 + i] += w0 * d0 + w1 * d1 + w2 * d2 + w3 * d3
            w0 = rules.sgd(w0, d0 * xi + l2 * w0, lr)
            w1 = rules.sgd(w1, d1 * xi + l2 * w1, lr)
            w2 = rules.sgd(w2, d2 * xi + l2 * w2, lr)
            w3 = rules.sgd(w3, d3 * xi + l2 * w3, lr)
            theta[r0 + i] = w0
            theta[r1 + i] = w1
            theta[r2 + i] = w2
            theta[r3 + i] = w3
            if mode == FWD:
                di = d[i]
                acc0 += w0 * di
                acc1 += w1 * di
                acc2 += w2 * di
                acc3 += w3 * di
    if mode == FWD:
        z[do] = acc0 + theta[bo]
        z[do + U(1)] = acc1 + theta[bo + U(1)]
        z[do + U(2)] = acc2 + theta[bo + U(2)]
        z[do + U(3)] = acc3 + theta[bo + U(3)]


@inline
def in_fours(mode, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, d, z, bo):
    """``four_rows`` over the rows of W from p0 while four are left; returns how many it did."""
    first = U(0)
    while first + U(4) <= n_rows:
        four_rows(mode, decay, theta, lr, l2, p0 + first * n, n, delta, do + first, x, x0, d,
                  z, bo + first)
        first += U(4)
    return first


def _row_sweeps_for(decay):
    """A layer's sweep (``in_fours``, then ``rows_from``) for a run-time ``mode`` (BACK or
    FWD), with ``decay`` a constant: one
    compiled function per decay for every layer, path and network of a dtype, called once
    per layer. Inlined into every ``sgd_rows`` instead (numba types an inlined body at every
    call site, the BIAS and MEAN ones included), the first plain fit compiled 12.0 s instead
    of 6.9 s; as one function with PLAIN too, 9.1-9.4 s, of which this function 1.34 s; 0.95 s
    without PLAIN, with decay at run time (both loop bodies); 0.5 s now, for the body a fit
    uses (fresh cache, pinned). PLAIN's one-row loop already is one read-modify-write sweep
    (one load of x per weight is what four rows would save).

    It also sweeps the rows left after the fours (and all rows of a layer narrower than 8
    inputs) one by one (``rows_from``): inlined into each ``sgd_rows`` of a pass, those
    loops were lowered by numba once per call site and, without the noalias promise, each
    got LLVM's run-time overlap checks and a scalar fallback copy. Here, with ``offsets``
    and ``sgd_bias`` out of line too, the per-example pass's IR fell from 2839 to 1659
    statements (its row sweeps 936 -> 1483); the cold paths of ``bench.COLD_PATHS`` (fresh
    cache, 2-4-1, one pinned core, wall, alternating, two runs each): plain SGD 2.02 ->
    1.87-1.93 s, l2 1.51-1.56 -> 1.23-1.29, dropout 1.44-1.47 -> 1.03-1.06, float32 1.83-1.84
    -> 1.56-1.60, the others equal. Per example (``kernels.epoch``, pinned, alternating) as
    fast or faster: 784-100-10 float32 2.63-2.64 -> 2.48-2.52 µs, 64-32-10 float32
    0.194-0.199 -> 0.184-0.189, 2-4-1 unchanged; the 184 configurations' thetas bit for bit
    as before."""

    def row_sweeps(mode, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, d, z, bo):
        one = cast_like(theta, 1.0)
        first = U(0)
        if mode == BACK:
            if n >= U(8):
                first = in_fours(BACK, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, d,
                                 z, bo)
            rows_from(first, BACK, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, one,
                      d, z, bo)
        else:
            if n >= U(8):
                first = in_fours(FWD, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, d,
                                 z, bo)
            rows_from(first, FWD, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, one,
                      d, z, bo)

    # theta, delta (BACK) and z (FWD) are written; x and d are rows of the workspace's
    # activations or of the caller's X, never theta or another written buffer. Told so,
    # LLVM drops the overlap checks in front of each four-row sweep (25 per example on
    # 784-100-10; and of the one-row loops, since they moved in here): per example
    # 64-32-10 float32 0.239 -> 0.202-0.216 µs, 784-100-10 float32 2.96-3.05 -> 2.73-2.92,
    # float64 5.49-5.65 -> 5.32-5.55 (alternating processes, pinned); 184 configurations
    # bit-identical
    return internal(row_sweeps, noalias=True)


row_sweeps, row_sweeps_decay = _row_sweeps_for(False), _row_sweeps_for(True)


@inline
def sgd_rows(mode, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, s, d, z, bo):
    """Plain SGD on n_rows rows of n parameters from p0: row j's gradient is
    delta[do+j] * x[x0+i] + l2 * w (PLAIN; BACK also adds the old w * delta_j into
    delta[x0+i]; FWD then sets z[do+j] = sum_i w_new * d[i] + theta[bo+j], the next
    example's pre-activation), or for one range x[x0+i] (BIAS) or x[x0+i] / s + l2 * w
    (MEAN, zeroing x; the mean as x * (1 / s)).

    BACK and FWD are ``row_sweeps``' (rows of W of 8 or more inputs four at a time, the last
    1-3 and narrower rows one by one); the other modes sweep one row at a time here.

    ``decay`` (l2 != 0) selects one of two loop bodies. Without decay, (lr dj) x is one
    multiply per weight instead of two (with the l2 body for both, 64-32-10 took 2.15
    instead of 1.5 µs per example). The epoch kernels pass it as a constant (the other
    body is pruned before typing): with both bodies compiled in and chosen at run time,
    64-32-10 at l2 > 0 took 1.25 instead of 1.02 µs per example.
    """
    if mode == BACK or mode == FWD:
        if decay == False:  # noqa: E712 (a comparison numba folds on a constant)
            row_sweeps(U(mode), theta, lr, l2, p0, n_rows, n, delta, do, x, x0, d, z, bo)
        else:
            row_sweeps_decay(U(mode), theta, lr, l2, p0, n_rows, n, delta, do, x, x0, d, z, bo)
    else:
        rows_from(U(0), mode, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, s, d, z, bo)


@inline
def rows_from(first, mode, decay, theta, lr, l2, p0, n_rows, n, delta, do, x, x0, s, d, z, bo):
    """``sgd_rows`` one row at a time, from row ``first`` on (BACK and FWD: the rows
    ``row_sweeps`` leaves after its fours; the other modes: all)."""
    one = cast_like(theta, 1.0)
    # the mean as x * (1 / s): one division per call (a division per weight took 784-100-10
    # at batch 32 from 8.2 to 9.1 µs per example, float64)
    inv = one / s if mode == MEAN else one
    if decay == False:  # noqa: E712 (a comparison numba folds on a constant)
        for j in range(first, n_rows):
            dj = delta[do + j] if mode <= FWD else one
            c = lr * dj if mode <= FWD else lr * inv  # MEAN: w - (lr / s) x, one product
            row = p0 + j * n
            acc = cast_like(theta, 0.0)
            for i in range(n):
                p = row + i
                w = theta[p]
                if mode == BACK:
                    delta[x0 + i] += w * dj
                w = rules.sgd(w, x[x0 + i], c)
                theta[p] = w
                if mode == FWD:
                    acc += w * d[i]
                if mode == MEAN:
                    x[x0 + i] = 0.0
            if mode == FWD:
                z[do + j] = acc + theta[bo + j]
    else:
        for j in range(first, n_rows):
            dj = delta[do + j] if mode <= FWD else one
            row = p0 + j * n
            acc = cast_like(theta, 0.0)
            for i in range(n):
                p = row + i
                w = theta[p]
                if mode == BACK:
                    delta[x0 + i] += w * dj
                g = dj * (x[x0 + i] * inv if mode == MEAN else x[x0 + i])
                w = rules.sgd(w, g + l2 * w, lr)
                theta[p] = w
                if mode == FWD:
                    acc += w * d[i]
                if mode == MEAN:
                    x[x0 + i] = 0.0
            if mode == FWD:
                z[do + j] = acc + theta[bo + j]


@partial(internal, noalias=True)  # theta written, delta read
def sgd_bias(theta, lr, p0, n, delta, do):
    """Plain SGD on the n biases from p0, gradient delta[do:do+n] (``sgd_rows``' BIAS): one
    compiled function per dtype, called by every layer's update; inlined, each pass lowered
    it twice and LLVM gave each copy its overlap checks and a scalar fallback loop."""
    one = cast_like(theta, 1.0)
    sgd_rows(BIAS, False, theta, lr, cast_like(theta, 0.0), p0, U(1), n, delta, do, delta, do,
             one, delta, delta, p0)


@inline
def optimizer_rows(code, mode, theta, m, v, k, l2, p0, n_rows, n, delta, do, x, x0, s):
    """The stateful optimisers' update of n_rows rows of n parameters from p0 (state m, v
    at the same positions, ``k`` their ``rules.Consts``): row j's gradient is
    delta[do+j] * x[x0+i] + l2 * w (PLAIN, BACK; BACK also adds into delta[x0+i]), or for
    one range x[x0+i] (BIAS) or x[x0+i] / s + l2 * w (MEAN, zeroing x).

    One branch per optimiser, outside the loops; each loop body calls its rule. Compiled
    once per mode (the four functions below) and shared by every kernel: inlining these
    loops into each kernel took the cold compile of one epoch kernel from 5 to 40 s.
    The momentum and Nesterov loops differ only in their rule and stay apart on purpose: a
    branch on the code inside the loop would keep it from being vectorised.
    """
    one = cast_like(theta, 1.0)
    inv = one / s if mode == MEAN else one  # one division per call, not per weight
    for j in range(n_rows):
        dj = delta[do + j] if mode == PLAIN or mode == BACK else one
        row = p0 + j * n
        if code == rules.MOMENTUM:
            for i in range(n):
                p = row + i
                w = theta[p]
                if mode == BACK:
                    delta[x0 + i] += w * dj
                g = x[x0 + i] * inv if mode == MEAN else x[x0 + i]
                theta[p], m[p] = rules.momentum(w, dj * g + l2 * w, m[p], k)
                if mode == MEAN:
                    x[x0 + i] = 0.0
        elif code == rules.NESTEROV:
            for i in range(n):
                p = row + i
                w = theta[p]
                if mode == BACK:
                    delta[x0 + i] += w * dj
                g = x[x0 + i] * inv if mode == MEAN else x[x0 + i]
                theta[p], m[p] = rules.nesterov(w, dj * g + l2 * w, m[p], k)
                if mode == MEAN:
                    x[x0 + i] = 0.0
        else:  # ADAM
            # the delta gets a loop of its own: with it in the update loop there are too
            # many arrays for LLVM's run-time alias checks and the update stays scalar
            # (measured 10x slower)
            if mode == BACK:
                for i in range(n):
                    delta[x0 + i] += theta[row + i] * dj
            for i in range(n):
                p = row + i
                g = x[x0 + i] * inv if mode == MEAN else x[x0 + i]
                theta[p], m[p], v[p] = rules.adam(theta[p], dj * g + l2 * theta[p], m[p], v[p],
                                                  k)
                if mode == MEAN:
                    x[x0 + i] = 0.0


def _rows_for(mode):
    """``optimizer_rows`` with ``mode`` fixed, compiled once and shared by every kernel (and
    not at all into plain SGD's passes, whose code is the constant ``rules.SGD``: numba
    prunes the branches that call these before it types the pass)."""

    def rows(code, theta, m, v, k, l2, p0, n_rows, n, delta, do, x, x0, s):
        optimizer_rows(code, mode, theta, m, v, k, l2, p0, n_rows, n, delta, do, x, x0, s)

    return internal(rows)


optimizer_plain, optimizer_back, optimizer_bias, optimizer_mean = (
    _rows_for(PLAIN), _rows_for(BACK), _rows_for(BIAS), _rows_for(MEAN))


@internal
def offsets(tab, l):
    """(n_in, n_out, W^l, b^l, a^l, a^(l+1)): layer l's sizes and where its weights, biases
    and the units it reads and writes start. A helper, not a block: its six indexed reads
    and casts were ~220 of the per-example pass's IR statements (LLVM inlines it)."""
    return (U(tab[SIZES, l]), U(tab[SIZES, l + 1]), U(tab[W_OFF, l]), U(tab[B_OFF, l]),
            U(tab[U_OFF, l]), U(tab[U_OFF, l + 1]))


@inline
def four_dots(theta, r0, n, x, x0, z, zo, bo):
    """z[zo + r] = (row r of the four rows of n weights from r0) . x[x0:x0+n] + theta[bo + r]:
    each x[x0 + i] is loaded once for four rows (and the loop runs a quarter as often)."""
    r1 = r0 + n
    r2 = r1 + n
    r3 = r2 + n
    s0 = cast_like(theta, 0.0)
    s1 = cast_like(theta, 0.0)
    s2 = cast_like(theta, 0.0)
    s3 = cast_like(theta, 0.0)
    for i in range(n):
        xi = x[x0 + i]
        s0 += theta[r0 + i] * xi
        s1 += theta[r1 + i] * xi
        s2 += theta[r2 + i] * xi
        s3 += theta[r3 + i] * xi
    z[zo] = s0 + theta[bo]
    z[zo + U(1)] = s1 + theta[bo + U(1)]
    z[zo + U(2)] = s2 + theta[bo + U(2)]
    z[zo + U(3)] = s3 + theta[bo + U(3)]


@partial(internal, noalias=True)  # theta and x are read, z written
def forward_rows(theta, p0, n_rows, n, x, x0, z, zo, bo):
    """``four_dots`` over the rows of W from p0 while four are left; returns how many it
    did. One compiled function per dtype, called once per layer (as ``row_sweeps``). One
    layer's products, pinned, per call (one row at a time -> four): 512x512 36.8 -> 31.7 µs
    (float64), 10.4 -> 8.6 (float32); 32x64 186 -> 127 ns, 98 -> 77; 10x100 83 -> 64 ns,
    57 -> 44. The sums may round differently from one row's (a few ulp)."""
    first = U(0)
    while first + U(4) <= n_rows:
        four_dots(theta, p0 + first * n, n, x, x0, z, zo + first, bo + first)
        first += U(4)
    return first


@inline
def layer_forward(theta, tab, z, a, l):
    """z^(l+1) = W^l a^l + b^l and a^(l+1) = g(z^(l+1)). Rows of 8 or more inputs go four
    at a time (``forward_rows``), the last 1-3 and narrower ones one by one."""
    n_in, n_out, wo, bo, ai, zo = offsets(tab, l)
    first = U(0)
    if n_in >= U(8):
        first = forward_rows(theta, wo, n_out, n_in, a, ai, z, zo, bo)
    for j in range(first, n_out):
        row = wo + j * n_in  # W^l[j, 0]
        s = cast_like(theta, 0.0)  # accumulate in theta's dtype
        for k in range(n_in):
            s += theta[row + k] * a[ai + k]
        z[zo + j] = s + theta[bo + j]
    act.activate(tab[ACT, l], z, a, zo, n_out)


@inline
def forward(theta, tab, z, a, first):
    """Forward pass from layer ``first`` on (the example already in a^first)."""
    for l in range(first, tab.shape[1] - 1):
        layer_forward(theta, tab, z, a, l)


@inline
def drop_layer(tab, a, mask, h, drop, step):
    """Dropout (a ``Dropout``) on layer h's activations for example number ``step`` if h
    is hidden."""
    if 0 < h < tab.shape[1] - 1:
        drop_units(a, mask, U(tab[U_OFF, h]), U(tab[SIZES, h]), drop.keep[h], drop.scale[h],
                   drop.seed, step)


@inline
def train_forward(theta, tab, z, a, mask, first, drop, step, dropout):
    """``forward`` with dropout ``drop`` on the hidden layers when ``dropout``."""
    for l in range(first, tab.shape[1] - 1):
        layer_forward(theta, tab, z, a, l)
        if dropout:
            drop_layer(tab, a, mask, l + 1, drop, step)


@inline
def out_slot(tab):
    """(offset, width, activation code) of the output layer."""
    L = tab.shape[1]
    return U(tab[U_OFF, L - 1]), U(tab[SIZES, L - 1]), tab[ACT, L - 2]


@inline
def output_delta(tab, loss, z, a, delta, Y, i):
    """delta^(L-1) from row i of Y into delta; returns the example's cost."""
    o, n, out = out_slot(tab)
    return losses.output_delta(loss, out, z, a, delta, o, n, Y, i)


@inline
def cost(tab, loss, z, a, Y, i):
    o, n, out = out_slot(tab)
    return losses.cost(loss, out, z, a, o, n, Y, i)


@inline
def hidden_derivative(tab, z, a, delta, mask, l, dropout):
    """delta^l *= g'(z^l) (times the dropout mask under dropout)."""
    ai = U(tab[U_OFF, l])
    n = U(tab[SIZES, l])
    if dropout:
        for k in range(n):
            delta[ai + k] *= mask[ai + k]
        act.mul_derivative_z(tab[ACT, l - 1], z, delta, ai, n)
    else:
        act.mul_derivative(tab[ACT, l - 1], z, a, delta, ai, n)


@inline
def backward_update(code, decay, theta, m, v, k, l2, tab, z, a, delta, mask, dropout, lowest):
    """Recursive deltas fused with the optimiser's update, layers L-2 .. ``lowest``: each
    row of W^l is read once, its old values feeding delta^l before they are replaced.
    ``code`` picks plain SGD's rows (``rules.SGD``) or the stateful optimisers' (any other
    code, ``rules.STATEFUL`` in a pass that serves them all), whose kernels apply the rule of
    ``k.code``; ``decay`` is l2 != 0 (it picks plain SGD's loop body; see ``sgd_rows``).
    The input layer's branch tests ``lowest != 0`` first: the epoch passes stop at layer 1
    (a constant), so that branch, never taken there, is not inlined into them (first plain
    fit 5.5-5.8 -> 5.2-5.3 s, fresh cache, pinned)."""
    one = cast_like(theta, 1.0)
    zero_l2 = cast_like(theta, 0.0)
    for l in range(tab.shape[1] - 2, lowest - 1, -1):
        n_in, n_out, wo, bo, ai, do = offsets(tab, l)
        if l > 0:
            zero(delta, ai, n_in)
        if code != SGD:
            rule = k.code
            if lowest != 0 or l > 0:
                optimizer_back(rule, theta, m, v, k, l2, wo, n_out, n_in, delta, do, a, ai, one)
            else:  # the input layer needs no delta
                optimizer_plain(rule, theta, m, v, k, l2, wo, n_out, n_in, delta, do, a, ai, one)
            optimizer_bias(rule, theta, m, v, k, zero_l2, bo, U(1), n_out, delta, do, delta, do,
                           one)
        else:
            if lowest != 0 or l > 0:
                sgd_rows(BACK, decay, theta, k.lr, l2, wo, n_out, n_in, delta, do, a, ai, one,
                         a, z, bo)
            else:
                sgd_rows(PLAIN, decay, theta, k.lr, l2, wo, n_out, n_in, delta, do, a, ai, one,
                         a, z, bo)
            sgd_bias(theta, k.lr, bo, n_out, delta, do)
        if l > 0:
            hidden_derivative(tab, z, a, delta, mask, l, dropout)


@inline
def first_layer_update_forward(code, decay, theta, m, v, k, l2, tab, z, a, delta, xn):
    """Update W^0 and b^0 from delta^1 and a^0 = x_t, then the next example's forward
    pass through layer 1: a^0 = x_(t+1) (the row ``xn``), z^1 = W^0 x_(t+1) + b^0, a^1.
    Plain SGD does the update and z^1 in one sweep over W^0, the largest matrix of a
    typical network, which is then streamed once instead of twice. ``code`` as in
    ``backward_update``."""
    one = cast_like(theta, 1.0)
    n_in = U(tab[SIZES, 0])
    n_out = U(tab[SIZES, 1])
    wo = U(tab[W_OFF, 0])
    bo = U(tab[B_OFF, 0])
    do = U(tab[U_OFF, 1])  # delta^1, z^1, a^1
    zero_l2 = cast_like(theta, 0.0)
    if code == SGD:
        sgd_bias(theta, k.lr, bo, n_out, delta, do)
        sgd_rows(FWD, decay, theta, k.lr, l2, wo, n_out, n_in, delta, do, a, U(0), one, xn, z,
                 bo)
        for c in range(n_in):
            a[c] = xn[c]
        act.activate(tab[ACT, 0], z, a, do, n_out)
    else:
        optimizer_bias(k.code, theta, m, v, k, zero_l2, bo, U(1), n_out, delta, do, delta, do, one)
        optimizer_plain(k.code, theta, m, v, k, l2, wo, n_out, n_in, delta, do, a, U(0), one)
        for c in range(n_in):
            a[c] = xn[c]
        layer_forward(theta, tab, z, a, 0)


@internal
def backward_accumulate(theta, tab, z, a, delta, grad, mask, dropout):
    """Recursive deltas of one example, adding its gradient to grad (theta unchanged)."""
    for l in range(tab.shape[1] - 2, -1, -1):
        n_in, n_out, wo, bo, ai, do = offsets(tab, l)
        if l > 0:
            zero(delta, ai, n_in)
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
            hidden_derivative(tab, z, a, delta, mask, l, dropout)


@internal
def sgd_mean(theta, lr, l2, p0, n, x, x0, mb):
    """Plain SGD's ``mean_step``, theta[p0:p0+n] -= (lr / mb) x[x0:x0+n] (+ lr l2 w):
    compiled once per dtype and called, not inlined twice into each mini-batch pass (with
    the products of ``fastbp._batch``, a first batch_size=32 fit after a plain one 2.5 ->
    1.8-1.96 s, fresh cache, pinned). Its factor lr / mb is written out once per call
    (``sgd_rows``' MEAN), as LLVM arranged it anyway."""
    sgd_rows(MEAN, l2 != 0.0, theta, lr, l2, p0, U(1), n, x, x0, x, x0, mb, x, x, x0)


@inline
def mean_step(code, theta, m, v, k, l2, p0, n, x, x0, mb):
    """One optimiser step on theta[p0:p0+n] from the gradient of mb examples summed in
    x[x0:x0+n] (its mean, plus l2 * w); zeroes that range of x. ``code`` as in
    ``backward_update``: the stateful optimisers' rule is ``k.code``."""
    if code == SGD:
        sgd_mean(theta, k.lr, l2, p0, n, x, x0, mb)
    else:
        optimizer_mean(k.code, theta, m, v, k, l2, p0, U(1), n, x, x0, x, x0, mb)


@inline
def apply_gradient(code, theta, m, v, k, l2, tab, grad, mb):
    """One optimiser step from the gradient of mb examples summed in grad (its mean, plus
    l2 * W on the weights); zeroes grad. A block, so that a constant ``code`` prunes the
    other optimisers (compiled on its own, ``kernels.apply_gradient`` compiled the stateful
    optimisers' ``optimizer_mean`` for plain SGD)."""
    zero_l2 = cast_like(theta, 0.0)
    mf = cast_like(theta, mb)
    for l in range(tab.shape[1] - 1):
        # weights, then biases: each one contiguous range of theta and grad
        for p0, n, l2_ in ((U(tab[W_OFF, l]), U(tab[SIZES, l + 1] * tab[SIZES, l]), l2),
                           (U(tab[B_OFF, l]), U(tab[SIZES, l + 1]), zero_l2)):
            mean_step(code, theta, m, v, k, l2_, p0, n, grad, p0, mf)
