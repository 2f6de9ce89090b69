"""Input validation at the API edge.

Every check raises TypeError (wrong kind of thing) or ValueError (right kind, wrong value)
with a message that names the parameter, the value it got and what is allowed. Nothing
here modifies a model; callers validate everything before they change anything.
"""
import math
import numbers

import numpy as np

from . import activations as act
from . import init as _init
from . import losses
from .layout import aligned_array

DTYPES = {"float64": np.float64, "float32": np.float32}


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def check_int(name, value, minimum=1):
    # ``type(value) is int`` first: the common case skips the slower abstract-class checks
    if type(value) is not int and (isinstance(value, (bool, np.bool_))
                                   or not isinstance(value, numbers.Integral)):
        raise TypeError(f"{name} must be an integer >= {minimum}, got {_short(value)} "
                        f"of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return int(value)


def check_real(name, value, minimum=None, strict=False, dtype=None):
    """A finite real number; ``minimum`` with ``strict`` means value > minimum, else >=.
    With ``dtype``, also finite (and > 0 if it must be > 0) as a scalar of that dtype."""
    if type(value) is not float and (isinstance(value, (bool, np.bool_))
                                     or not isinstance(value, numbers.Real)):
        raise TypeError(f"{name} must be a real number, got {_short(value)} "
                        f"of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None:
        if strict and not value > minimum:
            raise ValueError(f"{name} must be > {minimum}, got {value}")
        if not strict and not value >= minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if dtype is not None:
        check_in_dtype(name, value, dtype, positive=strict and minimum == 0)
    return value


def check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_short(value)}")
    return bool(value)


def check_choice(name, value, choices):
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, one of {sorted(choices)}, got {_short(value)}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_dtype(value):
    try:
        dt = np.dtype(value)
    except TypeError:
        dt = None
    if dt is None or dt.name not in DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {_short(value)}")
    return dt


def check_seed(name, value):
    if value is None or isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None, a non-negative integer or a numpy Generator, "
                        f"got {_short(value)}")
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return int(value)


def check_sizes(sizes):
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a sequence of layer widths such as [64, 32, 10], "
                        f"got {_short(sizes)}")
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least 2 layers (input and output), got {sizes}")
    out = []
    for i, s in enumerate(sizes):
        if isinstance(s, (bool, np.bool_)) or not isinstance(s, numbers.Integral):
            raise TypeError(f"sizes[{i}] must be a positive integer, got {_short(s)} in {sizes}")
        if s < 1:
            raise ValueError(f"sizes[{i}] must be a positive integer, got {s} in {sizes}")
        out.append(int(s))
    return out


def check_architecture(sizes, hidden, output, loss, init, dtype, seed):
    """The constructor arguments of a network, checked and normalised: (sizes as a list,
    hidden as a tuple of one name per hidden layer, output, loss (None picks the output's
    default), init, dtype as a numpy dtype, seed)."""
    sizes = check_sizes(sizes)
    n_hidden = len(sizes) - 2
    if isinstance(hidden, str):
        check_choice("hidden", hidden, act.HIDDEN)
        hidden = [hidden] * n_hidden
    else:
        if not hasattr(hidden, "__len__"):
            raise TypeError(f"hidden must be an activation name or a sequence of names, "
                            f"got {hidden!r}")
        hidden = list(hidden)
        if len(hidden) != n_hidden:
            raise ValueError(f"hidden lists {len(hidden)} activations but sizes {sizes} has "
                             f"{n_hidden} hidden layer(s); give one name or one per layer")
        for i, h in enumerate(hidden):
            check_choice(f"hidden[{i}]", h, act.HIDDEN)
    check_choice("output", output, act.OUTPUT)
    if loss is None:
        loss = losses.DEFAULT_LOSS[output]
    check_choice("loss", loss, losses.CODES)
    if loss == "cross_entropy" and output not in losses.CROSS_ENTROPY_OUTPUTS:
        raise ValueError(f"loss='cross_entropy' needs a sigmoid or softmax output, got "
                         f"output={output!r}; use loss='mse' for an {output} output")
    if output == "softmax" and sizes[-1] < 2:
        raise ValueError(f"a softmax output needs at least 2 units, got sizes[-1] = "
                         f"{sizes[-1]}; use output='sigmoid' for one unit")
    check_choice("init", init, _init.INITS)
    return sizes, tuple(hidden), output, loss, init, check_dtype(dtype), check_seed("seed", seed)


def real_value(val):
    """val as a float if it is a number the way ``struct``'s "d" reads one (an object with
    ``__float__`` or ``__index__``: Python and NumPy numbers, Decimal, Fraction; never a
    string), else None. One rule for every input that is not a numeric array: an object
    array here, a Python list in ``fastbp._online``, a feature value in ``fastbp.river``."""
    if isinstance(val, (str, bytes, bytearray)):
        return None
    try:
        return float(val)
    except (TypeError, ValueError, OverflowError):
        return None


def _as_real_array(name, value, dtype):
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name} must be a numeric array, got {_short(value)} ({exc})") from None
    if arr.dtype == object:  # Decimal, Fraction, ints beyond int64, ...: each read by float()
        flat = [real_value(v) for v in arr.ravel()]
        if None in flat:
            bad = arr.ravel()[flat.index(None)]
            raise TypeError(f"{name} must hold real numbers (float or int), got {_short(bad)} "
                            f"({type(bad).__name__}) in an array of dtype object")
        return np.array(flat, dtype=np.float64).reshape(arr.shape)
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers (float or int), got an array of dtype "
                        f"{arr.dtype}")
    return arr


def _check_finite(name, arr):
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise ValueError(f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or Inf); "
                             f"the first is {arr[idx]} at index {idx}. Remove or impute them.")


def _overflow_fix(dtype):
    """The advice for values beyond ``dtype``'s range."""
    if np.dtype(dtype) == np.float32:
        return "scale the data or use dtype='float64'"
    return "scale the data"


def _cast_finite(name, arr, dtype, aligned=False):
    """``arr`` as a C-contiguous array of ``dtype`` whose values are all finite; with
    ``aligned``, a copy it has to make starts on a cache line (``layout.aligned_array``).

    Finiteness is checked after the cast, on what the kernels will see: 1e39 is finite as a
    float64 but inf as a float32 (and a longdouble 1e400 is inf as a float64). Non-finite
    input gets the "remove or impute" message, overflow in the cast the "scale" one.
    """
    if arr.dtype == dtype and (arr.flags.c_contiguous or not aligned):
        out = np.ascontiguousarray(arr)  # the usual case: no cast, no errstate (~1 us)
    else:
        with np.errstate(over="ignore"):  # overflow is reported below, by name
            out = (aligned_array(arr, dtype) if aligned
                   else np.ascontiguousarray(arr, dtype=dtype))
    if not np.isfinite(out).all():
        _check_finite(name, arr)  # NaN or Inf already in the input
        bad = ~np.isfinite(out)
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        big = float(np.finfo(dtype).max)
        raise ValueError(f"{name} contains {int(bad.sum())} value(s) that are not finite in "
                         f"{np.dtype(dtype).name} (|x| > {big:.2g}); the first is {arr[idx]!s} at "
                         f"index {idx}. {_overflow_fix(dtype).capitalize()}.")
    return out


def check_in_dtype(name, value, dtype, positive=False, below_one=False):
    """A validated real ``value`` as the kernels see it, a scalar of ``dtype``: it must stay
    finite, stay > 0 if ``positive`` (an lr of 1e-50 is 0 in float32 and trains nothing),
    and stay < 1 if ``below_one`` (a momentum of 0.99999999 is 1 in float32)."""
    if dtype is None:
        return value
    dt = np.dtype(dtype)
    with np.errstate(over="ignore", under="ignore"):
        cast = float(dt.type(value))
    if not math.isfinite(cast):
        raise ValueError(f"{name}={value} is not finite in {dt.name} (|x| > "
                         f"{float(np.finfo(dt).max):.2g}); give a smaller {name}"
                         + (" or use dtype='float64'" if dt == np.float32 else ""))
    if positive and cast <= 0:
        raise ValueError(f"{name}={value} rounds to 0 in {dt.name} (the smallest positive "
                         f"{dt.name} is {float(np.finfo(dt).smallest_subnormal):.2g}), so "
                         f"training would change nothing; give a larger {name}"
                         + (" or use dtype='float64'" if dt == np.float32 else ""))
    if below_one and cast >= 1:
        raise ValueError(f"{name}={value} rounds to 1 in {dt.name}; give a value further "
                         f"from 1" + (" or use dtype='float64'" if dt == np.float32 else ""))
    return value


def check_X(X, n_inputs, dtype, name="X", allow_1d=False, aligned=False):
    """X as a C-contiguous (n, n_inputs) array of ``dtype``; returns (X, was_1d). ``aligned``
    (the data of a training loop, read pass after pass): a copy it has to make starts on a
    cache line (``_cast_finite``; ~5 µs more per call than NumPy's copy, so not for
    ``predict`` and the other one-off reads)."""
    arr = _as_real_array(name, X, dtype)
    was_1d = False
    if arr.ndim == 1 and allow_1d:
        was_1d = True
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        want = "(n_samples, n_inputs)" + (" or (n_inputs,)" if allow_1d else "")
        raise ValueError(f"{name} must be 2-dimensional {want}, got shape {arr.shape}")
    if arr.shape[1] != n_inputs:
        raise ValueError(f"{name} has {arr.shape[1]} columns but the network's input layer "
                         f"has sizes[0] = {n_inputs} units")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no rows (shape {arr.shape}); at least one example is needed")
    return _cast_finite(name, arr, dtype, aligned), was_1d


def check_Y(Y, n_rows, n_outputs, output, loss, dtype, name="Y"):
    """Y as a C-contiguous (n, n_outputs) array of ``dtype`` within the loss's domain.

    A 1-D integer Y is read as class indices for a softmax output (one-hot encoded here)
    and as one column for a single-output network.
    """
    arr = _as_real_array(name, Y, dtype)
    if arr.ndim == 1:
        if output == "softmax" and n_outputs > 1:
            if arr.dtype.kind not in "iu":
                raise TypeError(f"{name} is 1-dimensional, so it is read as class indices for the "
                                f"softmax output, and must then hold integers; got dtype "
                                f"{arr.dtype}. Pass one-hot rows of shape (n, {n_outputs}) instead.")
            if arr.shape[0] != n_rows:
                raise ValueError(f"{name} has {arr.shape[0]} class indices but X has {n_rows} rows")
            bad = (arr < 0) | (arr >= n_outputs)
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"{name} holds class index {int(arr[i])} at row {i}; class "
                                 f"indices must lie in 0 .. {n_outputs - 1} (the output has "
                                 f"{n_outputs} units)")
            onehot = np.zeros((n_rows, n_outputs), dtype=dtype)
            onehot[np.arange(n_rows), arr] = 1.0
            return onehot
        if n_outputs == 1:
            arr = arr.reshape(-1, 1)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (n_samples, {n_outputs}), got shape "
                         f"{arr.shape}")
    if arr.shape[0] != n_rows:
        raise ValueError(f"{name} has {arr.shape[0]} rows but X has {n_rows}; they must match")
    if arr.shape[1] != n_outputs:
        raise ValueError(f"{name} has {arr.shape[1]} columns but the network's output layer has "
                         f"sizes[-1] = {n_outputs} units")
    arr = _cast_finite(name, arr, dtype)
    if loss == "cross_entropy":
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi > 1:
            raise ValueError(f"{name} must lie in [0, 1] for cross_entropy with a {output} "
                             f"output, got values from {lo} to {hi}. Use loss='mse' for other "
                             f"targets.")
        if output == "softmax":
            sums = arr.sum(axis=1, dtype=np.float64)
            bad = np.abs(sums - 1.0) > 1e-6 * n_outputs
            if bad.any():
                i = int(np.argmax(bad))
                raise ValueError(f"{name} rows must each sum to 1 (probability distributions or "
                                 f"one-hot) for cross_entropy with a softmax output; row {i} "
                                 f"sums to {sums[i]}")
    return arr
