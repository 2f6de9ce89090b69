"""Model files of the fastbp.sklearn estimators: their fitted state as JSON values and
arrays for ``fastbp.io`` (``save``), and every check on the way back (``_from_model_file``):
a file that does not describe a valid estimator raises ValueError, TypeError or KeyError,
which ``fastbp.io.load`` reports as a ``ModelFileError`` naming the file.

No scikit-learn import here; ``fastbp.sklearn`` uses these helpers.
"""
import numpy as np

from .. import optim

CODE_NAMES = {code: name for name, code in optim.CODES.items()}


def params_to_json(est):
    """get_params() as JSON values (tuples as lists, NumPy scalars as Python ones, a dtype
    as its name, a RandomState instance as None); TypeError for anything else."""
    out = {}
    for name, value in est.get_params(deep=False).items():
        if name == "random_state" and isinstance(value, np.random.RandomState):
            value = None
        elif name == "dtype":
            value = np.dtype(value).name
        elif isinstance(value, (tuple, list, np.ndarray)):
            value = [x.item() if isinstance(x, np.generic) else x for x in value]
        elif isinstance(value, np.generic):
            value = value.item()
        if not (value is None or isinstance(value, (str, bool, int, float))
                or (isinstance(value, list)
                    and all(isinstance(x, (int, float)) for x in value))):
            raise TypeError(f"save keeps parameters of JSON types only; {name}={value!r}")
        out[name] = value
    return out


def params_from_json(cls, params):
    want = set(cls._get_param_names())
    params = keys("params", params, want)
    return {k: tuple(val) if isinstance(val, list) else val for k, val in params.items()}


def keys(what, value, keys):
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a JSON object, got {type(value).__name__}")
    if set(value) != set(keys):
        raise ValueError(f"{what} has the keys {sorted(value)}, expected {sorted(keys)}")
    return value


def count(name, value, minimum, maximum=None):
    if type(value) is not int or value < minimum or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be an integer >= {minimum}"
                         + (f" and <= {maximum}" if maximum is not None else "")
                         + f", got {value!r}")
    return value


def array(arrays, name, kinds, shape):
    """arrays[name], checked: dtype kind among ``kinds``, 1-D, of ``shape`` if given."""
    if name not in arrays:
        raise KeyError(f"no array {name!r}")
    arr = arrays[name]
    if arr.dtype.kind not in kinds or arr.ndim != 1 or (shape is not None
                                                      and arr.shape != shape):
        raise ValueError(f"array {name!r} is {arr.dtype} of shape {arr.shape}")
    return arr


def state_from(name, arrays, net):
    """The optimiser state saved as ``opt.*``, checked against the network."""
    if name not in optim.CODES:
        raise ValueError(f"unknown optimizer {name!r}")
    code = optim.CODES[name]
    n = net.n_params
    want = {"opt.hp": (net.dtype, (6,)), "opt.t": (np.dtype(np.int64), (1,)),
            "opt.m": (net.dtype, (0 if code == optim.SGD else n,)),
            "opt.v": (net.dtype, (n if code == optim.ADAM else 0,))}
    for key, (dtype, shape) in want.items():
        arr = arrays.get(key)
        if arr is None or arr.dtype != dtype or arr.shape != shape:
            raise ValueError(f"array {key!r} must be {np.dtype(dtype).name} of shape {shape} "
                             f"for {name} on {n} parameters")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ValueError(f"array {key!r} holds non-finite values")
    if arrays["opt.t"][0] < 0:
        raise ValueError("opt.t must be >= 0")
    return optim.OptState(code, *(np.array(arrays[k]) for k in ("opt.hp", "opt.m", "opt.v",
                                                                "opt.t")))
