"""The fast paths of ``Network.partial_fit`` (one example) and ``Network.predict`` (one row).

The full paths validate through NumPy conversions, ``fastbp.options`` and the training loop:
25-200 µs for a call whose kernel takes 1-10 µs. Here every natural form of one example (a
list, a (1, n) row, a strided view, float64 into a float32 network, a scalar target, a
class index) is brought into a preallocated buffer of the network's dtype, or passed as it
is when it already is one, and handed to one kernel call.

Nothing here decides that an input is valid: whatever this module does not recognise
returns None, and whatever the kernel finds wrong (a non-finite value after the cast, a
target outside the loss's domain) comes back as a status; both send the call down the full
path, which raises its precise error before any change of state. So a fast call accepts
exactly what the full path accepts and computes the same result bit for bit: casts happen
in ``load`` (numba's float64 -> float32 conversion rounds to nearest, as NumPy's cast does,
but without NumPy's overflow warning: an overflow becomes inf, which the kernel refuses).
"""
import numpy as np

from . import _checks as check
from ._blocks import forward, out_slot
from ._jit import U, borrow, jit
from .layout import SIZES

# the dtypes of x / y that ``load`` converts (others take the full path)
DTYPES = frozenset(np.dtype(t) for t in (np.float64, np.float32, np.int64, np.int32))
# the scalar types of lr / l2 / batch_size taken here; bool is not among them (the full
# path refuses it, and False == 0)
REALS = frozenset((float, int, np.float64, np.float32, np.int64, np.int32))
INTS = frozenset((int, np.int64, np.int32))
SEQUENCES = (list, tuple)
# a python int target below this is exact in float32 and float64 (as the full path's cast)
EXACT_INT = 2 ** 24


@jit
def load(dst, src):
    """dst[:] = src, each entry converted to dst's dtype (round to nearest, no warning)."""
    for k in range(dst.shape[0]):
        dst[k] = src[k]


@jit
def predict_row(theta, table, loss_code, units, x, out):
    """out = the network's output for one example x; False (out untouched) if x is not finite."""
    tab, xb, th, ub, ob = borrow(table), borrow(x), borrow(theta), borrow(units), borrow(out)
    n_params, n_units = check.spec_sizes(tab, loss_code)
    check.theta_fits(th, n_params)
    check.units_fit(ub, n_units)
    check.x_fits(tab, xb)
    o, n, _ = out_slot(tab)
    if ob.shape[0] != n:
        raise ValueError("out must have n_outputs entries")
    zb, ab = ub[0], ub[1]
    for k in range(U(tab[SIZES, 0])):
        if not np.isfinite(xb[k]):
            return False
        ab[k] = xb[k]
    forward(th, tab, zb, ab, 0)
    for k in range(n):
        ob[k] = ab[o + k]
    return True


def options_plain(lr, batch_size, l2):
    """True if (lr, batch_size, l2) are certainly valid for plain per-example SGD: an lr the
    dtype holds (tiny or huge ones take the full path, which checks them), batch 1, l2 0."""
    return (type(lr) in REALS and 1e-30 < lr < 1e30 and type(batch_size) in INTS
            and batch_size == 1 and type(l2) in REALS and l2 == 0)


def _array(value):
    """value as an ndarray of a dtype ``load`` converts, or None."""
    if type(value) is not np.ndarray:
        if not isinstance(value, (SEQUENCES, np.generic)):
            return None
        value = np.asarray(value)  # the full path's own first conversion
    return value if value.dtype in DTYPES else None


def _row(buf, arr):
    """A 1-D C-contiguous array of buf's dtype holding arr (1-D): arr itself or buf."""
    if arr.dtype == buf.dtype and arr.flags.c_contiguous:
        return arr
    load(buf, arr)
    return buf


def example(net, X, Y):
    """(x, y) for ``kernels.checked_step`` from one example as partial_fit takes it, or None
    if it is not one of the forms handled here (the full path then decides)."""
    sizes = net.layout.sizes
    if type(X) is np.ndarray and X.ndim == 1 and X.dtype == net.dtype \
            and X.flags.c_contiguous and X.shape[0] == sizes[0]:
        x, one_d = X, True  # the common case first
    else:
        X = _array(X)
        if X is None:
            return None
        one_d = X.ndim == 1
        if not one_d:
            if X.ndim != 2 or X.shape[0] != 1:
                return None
            X = X[0]
        if X.shape[0] != sizes[0]:
            return None
        x = _row(net._x_buf, X)
    y = target(net, Y, one_d)
    return None if y is None else (x, y)


def target(net, Y, one_d):
    """y (1-D, net's dtype) for the target Y of one example, or None. ``one_d``: x was 1-D,
    so (as in the full path) a scalar Y is one value and a 1-D Y one target row."""
    n_out = net.layout.sizes[-1]
    softmax = net.output == "softmax"
    kind = type(Y)
    if kind is np.ndarray and Y.ndim == 1 and Y.dtype == net.dtype and one_d \
            and Y.flags.c_contiguous and Y.shape[0] == n_out:
        return Y
    if kind is int and one_d:
        if softmax:
            return net._eye[Y] if 0 <= Y < n_out else None
        if n_out == 1 and -EXACT_INT < Y < EXACT_INT:
            net._y_buf[0] = Y
            return net._y_buf
        return None
    if kind is float and one_d:
        if n_out == 1 and -1e30 < Y < 1e30:  # NaN, inf and overflow take the full path
            net._y_buf[0] = Y
            return net._y_buf
        return None
    Y = _array(Y)
    if Y is None:
        return None
    if one_d and Y.ndim <= 1:
        single = Y.ndim == 0  # a scalar; a 1-D Y is a row (the full path's Y[None])
    elif Y.ndim == 1:  # with a (1, n) X: one class index or one value, nothing else
        if Y.shape[0] != 1:
            return None
        single = True
    elif Y.ndim == 2 and Y.shape[0] == 1:
        single, Y = False, Y[0]
    else:
        return None
    if not single:
        return _row(net._y_buf, Y) if Y.ndim == 1 and Y.shape[0] == n_out else None
    Y = Y.reshape(1)
    if softmax:
        if Y.dtype.kind != "i":
            return None
        c = int(Y[0])
        return net._eye[c] if 0 <= c < n_out else None
    return _row(net._y_buf, Y) if n_out == 1 else None


def predict(net, X):
    """The output for one example X (1-D: a 1-D result; (1, n): a (1, n_out) one) as a new
    array, or None for any other X or a non-finite one (the full path then decides)."""
    if type(X) is not np.ndarray or X.dtype not in DTYPES:
        X = _array(X)
        if X is None:
            return None
    n_in, n_out = net.layout.sizes[0], net.layout.sizes[-1]
    if X.ndim == 1:
        out = np.empty(n_out, dtype=net.dtype)
        row, x = out, X
    elif X.ndim == 2 and X.shape[0] == 1:
        out = np.empty((1, n_out), dtype=net.dtype)
        row, x = out[0], X[0]
    else:
        return None
    if x.shape[0] != n_in:
        return None
    if x.dtype != net.dtype or not x.flags.c_contiguous:
        buf = np.empty(n_in, dtype=net.dtype)
        load(buf, x)
        x = buf
    ws = net._take_ws()
    ok = predict_row(net._theta, net.spec.table, net.spec.loss, ws.units, x, row)
    net._eval_ws.append(ws)
    return out if ok else None
