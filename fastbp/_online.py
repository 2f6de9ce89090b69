"""The fast paths of ``Network.partial_fit`` (one example) and ``Network.predict`` (one row).

The full paths validate through NumPy conversions, ``fastbp.options`` and the training loop:
25-200 µs for a call whose kernel takes 1-10 µs. Here every natural form of one example (a
list, a (1, n) row, a strided view, float64 into a float32 network, a scalar target, a
class index) is brought into a preallocated buffer of the network's dtype, or passed as it
is when it already is one, and handed to one kernel call. A list or tuple x is packed by
``struct`` (what float() reads, as the full path reads an object array), 2.5-3x faster than
np.asarray of it.

Nothing here decides that an input is valid: whatever this module does not recognise
returns None, and whatever the kernel finds wrong (a non-finite value after the cast, a
target outside the loss's domain) comes back as a status; both send the call down the full
path, which raises its precise error before any change of state. So a fast call accepts
exactly what the full path accepts and computes the same result bit for bit: casts happen
in ``load`` (numba's float64 -> float32 conversion rounds to nearest, as NumPy's cast does,
but without NumPy's overflow warning: an overflow becomes inf, which the kernel refuses).
"""
import struct
from typing import NamedTuple

import numpy as np

from . import _checks as check
from ._blocks import forward, out_slot
from ._jit import JIT_DISABLED, U, borrow, inline, jit, units_rows
from .layout import SIZES

# the dtypes of x / y that ``load`` converts (others take the full path)
DTYPES = frozenset(np.dtype(t) for t in (np.float64, np.float32, np.int64, np.int32))
# the scalar types of lr / l2 / batch_size / y taken here; bool is not among them (the full
# path refuses it, and False == 0)
FLOATS = frozenset((float, np.float64, np.float32))
INTS = frozenset((int, np.int64, np.int32))
REALS = FLOATS | INTS
# a python int target below this is exact in float32 and float64 (as the full path's cast)
EXACT_INT = 2 ** 24
# every float64 below this in magnitude rounds to float32 as the integer or float it came
# from would (above it a python int was rounded twice: to float64 by struct, then to float32)
EXACT_DOUBLE = 2.0 ** 53
# what struct.pack_into raises for a value it does not read as a number (the caller then
# takes np.asarray's way, and the full path words the error)
PACK_ERRORS = (struct.error, TypeError, ValueError, OverflowError)


class Context(NamedTuple):
    """What the one-example paths of a network read: one tuple, unpacked in one step."""
    n_in: int
    n_out: int
    dtype: np.dtype
    softmax: bool
    x_buf: np.ndarray  # partial_fit's x, converted
    y_buf: np.ndarray  # partial_fit's y, converted
    eye: np.ndarray    # a class index picks its row: its one-hot target
    pack: struct.Struct  # n_in float64 values: partial_fit's list or tuple x
    x64: np.ndarray  # ... packed here for a float32 network (then cast into x_buf)
    row_pack: struct.Struct  # n_in values of the network's dtype: predict's list x
    a_offset: int  # bytes from the start of a workspace's units to its input slot a^0
    limit: float  # predict_loaded's bound on |x|: inf (float64), 2**53 (float32)


def context(net):
    n_in, n_out = net.layout.sizes[0], net.layout.sizes[-1]
    return Context(n_in, n_out, net.dtype, net.output == "softmax",
                   np.empty(n_in, dtype=net.dtype), np.empty(n_out, dtype=net.dtype),
                   np.eye(n_out, dtype=net.dtype), struct.Struct(f"={n_in}d"), np.empty(n_in),
                   struct.Struct(f"={n_in}{'d' if net.dtype == np.float64 else 'f'}"),
                   net.layout.units_width(net.dtype) * net.dtype.itemsize,
                   np.inf if net.dtype == np.float64 else EXACT_DOUBLE)


def _load(dst, src):
    """dst[:] = src, each entry converted to dst's dtype (round to nearest, no warning)."""
    for k in range(dst.shape[0]):
        dst[k] = src[k]


if JIT_DISABLED:
    def load(dst, src):
        """``_load`` as plain Python casting as the compiled one does: a value beyond the
        dtype's range becomes inf (which the kernel refuses) without NumPy's overflow
        warning, so the call goes on to the full path and its error as with the JIT."""
        with np.errstate(over="ignore"):
            _load(dst, src)
else:
    load = jit(_load)


@jit
def load_packed(dst, src):
    """dst[:] = src (float64 from ``struct``) as ``load``; False (dst partly written) if an
    entry is not finite or, for a float32 dst, at least 2**53 in magnitude."""
    for k in range(dst.shape[0]):
        v = src[k]
        if not (abs(v) < EXACT_DOUBLE):
            return False
        dst[k] = v
    return True


@jit
def predict_row(theta, table, loss_code, units, x, out):
    """out = the network's output for one example x; returns the index of its largest entry
    (the first of ties), or -1 (out untouched) if x is not finite. Also fastbp.river's."""
    tab, xb, th, ub, ob = borrow(table), borrow(x), borrow(theta), borrow(units), borrow(out)
    check.x_fits(tab, xb)
    zb, ab = _predict_checks(th, tab, loss_code, ub, ob)
    for k in range(U(tab[SIZES, 0])):
        if not np.isfinite(xb[k]):
            return -1
        ab[k] = xb[k]
    return _forward_argmax(th, tab, zb, ab, ob)


@jit
def predict_loaded(theta, table, loss_code, units, out, limit):
    """``predict_row`` for the example already in the input slot of units[1] (packed there
    by ``struct``): -1 if an entry is not below ``limit`` in magnitude (or not finite)."""
    tab, th, ub, ob = borrow(table), borrow(theta), borrow(units), borrow(out)
    zb, ab = _predict_checks(th, tab, loss_code, ub, ob)
    for k in range(U(tab[SIZES, 0])):
        if not (abs(ab[k]) < limit):
            return -1
    return _forward_argmax(th, tab, zb, ab, ob)


@inline
def _predict_checks(th, tab, loss_code, ub, ob):
    """The entry checks of the one-row predict kernels; (z, a) of the workspace."""
    n_params, n_units = check.spec_sizes(tab, loss_code)
    check.theta_fits(th, n_params)
    check.units_fit(ub, n_units)
    if ob.shape[0] != out_slot(tab)[1]:
        raise ValueError("out must have n_outputs entries")
    z, a, _, _ = units_rows(ub)
    return z, a


@inline
def _forward_argmax(th, tab, zb, ab, ob):
    """Forward from the input in ab; out = the output; the index of its largest entry."""
    forward(th, tab, zb, ab, 0)
    o, n, _ = out_slot(tab)
    for k in range(n):
        ob[k] = ab[o + k]
    best = 0
    for k in range(1, n):
        if ob[k] > ob[best]:
            best = k
    return best


def options_plain(lr, batch_size, l2):
    """True if (lr, batch_size, l2) are certainly valid for plain per-example SGD: an lr the
    dtype holds (tiny or huge ones take the full path, which checks them), batch 1, l2 0."""
    return (type(lr) in REALS and 1e-30 < lr < 1e30 and type(batch_size) in INTS
            and batch_size == 1 and type(l2) in REALS and l2 == 0)


def _packed(value, ctx):
    """partial_fit's list or tuple x of n_in numbers in ctx.x_buf, through ``struct``
    (2.5-3x faster than np.asarray for lists of floats: 0.56 against 1.41 µs for 64); None
    for any other value or whatever struct or ``load_packed`` refuses (the caller then
    takes np.asarray's way). struct reads what float() reads, which is also how the full
    path reads an object array (``fastbp._validation.real_value``)."""
    if (type(value) is not list and type(value) is not tuple) or len(value) != ctx.n_in:
        return None
    x = ctx.x_buf if ctx.dtype == np.float64 else ctx.x64
    try:
        ctx.pack.pack_into(x, 0, *value)
    except PACK_ERRORS:
        return None
    if x is ctx.x_buf:
        return x
    return ctx.x_buf if load_packed(ctx.x_buf, x) else None


def _array(value):
    """A list or tuple as the full path's np.asarray makes it (None if that fails there)."""
    if type(value) is not list and type(value) is not tuple:
        return None
    try:
        return np.asarray(value)
    except (ValueError, TypeError):  # ragged: the full path words the error
        return None


def _native(a, dt, buf=None):
    """a itself if it is a contiguous array of dtype dt; else a converted into buf (a new
    array if None) by ``load``; None for a dtype ``load`` does not take."""
    if a.dtype == dt and a.flags.c_contiguous:
        return a
    if a.dtype not in DTYPES:
        return None
    if buf is None:
        buf = np.empty(a.shape[0], dtype=dt)
    load(buf, a)
    return buf


def example(ctx, X, Y):
    """(x, y) for ``kernels.checked_step`` from one example as partial_fit takes it, or None
    if it is not one of the forms handled here (the full path then decides)."""
    n_in, n_out, dt, softmax, x_buf, y_buf, eye = ctx[:7]
    x = _packed(X, ctx)
    if x is not None:
        X = x
    elif type(X) is not np.ndarray:
        X = _array(X)
        if X is None:
            return None
    if X.ndim == 1:
        one_d = True
    elif X.ndim == 2 and X.shape[0] == 1:
        X, one_d = X[0], False
    else:
        return None
    if X.shape[0] != n_in:
        return None
    X = _native(X, dt, x_buf)
    if X is None:
        return None
    kind = type(Y)
    if kind is np.ndarray and one_d and Y.ndim == 1 and Y.dtype == dt \
            and Y.shape[0] == n_out and Y.flags.c_contiguous:
        return X, Y  # the target row as the kernel takes it
    if kind is not np.ndarray:
        # a scalar with a 1-D x: one value (one output) or a class index (softmax)
        if kind in FLOATS:
            if one_d and n_out == 1 and -1e30 < Y < 1e30:  # NaN, inf, overflow: full path
                y_buf[0] = Y
                return X, y_buf
            return None
        if kind in INTS:
            if one_d and softmax:
                return (X, eye[Y]) if 0 <= Y < n_out else None
            if one_d and n_out == 1 and -EXACT_INT < Y < EXACT_INT:
                y_buf[0] = Y
                return X, y_buf
            return None
        Y = _array(Y)
        if Y is None:
            return None
    y = target(Y, one_d, n_out, softmax, eye)
    if y is None:
        return None
    y = _native(y, dt, y_buf)
    return None if y is None else (X, y)


def target(Y, one_d, n_out, softmax, eye):
    """The target row of the array Y (1-D; a row of eye for a class index), or None.
    ``one_d``: x was 1-D, so (as in the full path) a 0-d
    Y is one value or class and a 1-D Y one target row; with a (1, n) x a (1,) Y is."""
    nd = Y.ndim
    if nd == 2:
        if Y.shape[0] != 1 or Y.shape[1] != n_out:
            return None
        return Y[0]
    if nd == 1 and one_d:
        return Y if Y.shape[0] == n_out else None
    if nd == 1 and Y.shape[0] == 1 or nd == 0 and one_d:
        if softmax:  # a class index: integers only, as the full path
            if Y.dtype.kind != "i":
                return None
            c = int(Y.reshape(1)[0])
            return eye[c] if 0 <= c < n_out else None
        return Y.reshape(1) if n_out == 1 else None
    return None


def predict(net, X):
    """The output for one example X (1-D: a 1-D result; (1, n): a (1, n_out) one) as a new
    array, or None for any other X or a non-finite one (the full path then decides)."""
    ctx = net._row
    n_in, n_out, dt = ctx[:3]
    if (type(X) is list or type(X) is tuple) and len(X) == n_in:
        # packed straight into the input slot of a workspace of this call's own
        # (what struct refuses, e.g. a list of one row of one value, goes the array way)
        ws = net._take_ws()
        try:
            ctx.row_pack.pack_into(ws.units, ctx.a_offset, *X)
        except PACK_ERRORS:
            net._eval_ws.append(ws)
        else:
            out = np.empty(n_out, dtype=dt)
            ok = predict_loaded(net._theta, net.spec.table, net.spec.loss, ws.units, out,
                                ctx.limit) >= 0
            net._eval_ws.append(ws)
            return out if ok else None
    if type(X) is not np.ndarray:
        X = _array(X)
        if X is None:
            return None
    if X.ndim == 1:
        out = np.empty(n_out, dtype=dt)
        row, x = out, X
    elif X.ndim == 2 and X.shape[0] == 1:
        out = np.empty((1, n_out), dtype=dt)
        row, x = out[0], X[0]
    else:
        return None
    if x.shape[0] != n_in:
        return None
    x = _native(x, dt)  # a buffer of its own: predict may run in several threads
    if x is None:
        return None
    ws = net._take_ws()
    ok = predict_row(net._theta, net.spec.table, net.spec.loss, ws.units, x, row) >= 0
    net._eval_ws.append(ws)
    return out if ok else None
