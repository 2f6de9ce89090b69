"""What MLPClassifier and MLPRegressor share: parameters, the dict -> array path, the
network and optimiser state, growth, and the checked per-example step.

Design (see the README's "River (online learning)"):
- Columns: a dict feature -> column. The first example fixes the columns (sorted, so that
  the order of a dict's keys never matters); a feature seen later grows W^0 by a zero
  column (the existing parameters and the function the network computes are unchanged).
  Prediction ignores features the model has not learnt from yet; a missing feature is 0.
- x goes into a preallocated buffer: when x has exactly the model's features (the common
  case), one C-level gather (``operator.itemgetter``) and one ``struct.pack_into`` write it
  (0.35 us for Phishing's 9 features, against 0.85 us for a Python loop over the dict);
  otherwise the buffer is zeroed and filled feature by feature. No allocation per call.
- The kernel calls are closures bound once to the engine's arrays (one per class label for
  the classifier's learn step), so a call loads no attributes.
- Plain SGD without l2: ``fastbp.kernels.checked_step``; otherwise ``_kernels.checked_opt_step``.
  Both check x and y and roll back on divergence, so a failed example changes nothing.
"""
import math
import numbers
import operator
import struct

import numpy as np

from .. import optim
from .._online import predict_row
from ..kernels import checked_step
from .._validation import real_value
from ..network import Network
from ..training import DivergenceError
from . import _kernels

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu", "elu", "softplus", "identity")
OPTIMIZERS = tuple(optim.CODES)


def _check_params(est):
    """ValueError/TypeError naming the parameter, raised by __init__ before any state."""
    sizes = est.hidden_layer_sizes
    if (not isinstance(sizes, tuple) or not sizes
            or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes)):
        raise ValueError(f"hidden_layer_sizes must be a non-empty tuple of positive ints, "
                         f"got {sizes!r}; e.g. (32,) or (32, 16)")
    if est.activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {est.activation!r}")
    if est.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {est.optimizer!r}")
    for name, lo in (("lr", 0.0), ("l2", None), ("momentum", None)):
        val = getattr(est, name)
        if (not isinstance(val, numbers.Real) or isinstance(val, bool) or not math.isfinite(val)
                or val < 0 or (lo is not None and val <= lo)):
            raise ValueError(f"{name} must be a finite number >= 0{' and > 0' if lo is not None else ''}, "
                             f"got {val!r}")
    if est.momentum >= 1.0:
        raise ValueError(f"momentum must be < 1, got {est.momentum!r}")
    if est.seed is not None and (not isinstance(est.seed, int) or isinstance(est.seed, bool)):
        raise TypeError(f"seed must be an int or None, got {est.seed!r}")


def _value(name, val):
    """A feature value as a finite float, or ValueError naming the feature. Numeric means
    what ``struct``'s "d" accepts (the fast fill): an object with ``__float__`` or
    ``__index__`` (Python and NumPy numbers, Decimal, Fraction), never a string."""
    f = real_value(val)
    if f is not None:
        if math.isfinite(f):
            return f
        raise ValueError(f"feature {name!r} is {val!r}; fastbp.river needs finite numbers "
                         f"(impute or drop it before the model, e.g. with river.preprocessing)")
    raise ValueError(f"feature {name!r} has the non-numeric value {val!r} "
                     f"({type(val).__name__}); encode it first, e.g. "
                     f"river.preprocessing.OneHotEncoder")


def sort_key(name):
    """Feature names of any (mixed) type, in a fixed order."""
    return (type(name).__name__, str(name))


# The kernel calls bound to an engine's arrays, as closures: a call loads no attribute and
# builds no argument tuple. Closures rather than functools.partial because River's
# memory_usage walks the estimator's object graph with gc.get_referents, skipping
# functions; a partial would lead it into numba's dispatcher, whose graph holds weak
# proxies that may be dead (ReferenceError from River's check_estimator).
def _bound_step(theta, table, loss, units, x, y, lr_buf, backup):
    def step():
        return checked_step(theta, table, loss, units, x, y, lr_buf, backup)
    return step


def _bound_opt_step(theta, table, loss, units, x, y, code, hp, m, v, t, backup3):
    def step():
        return _kernels.checked_opt_step(theta, table, loss, units, x, y, code, hp, m, v, t,
                                         backup3)
    return step


def _bound_forward(theta, table, loss, units, x, out):
    def forward():
        return predict_row(theta, table, loss, units, x, out)
    return forward


class Engine:
    """The network, its optimiser state and the per-call buffers of one estimator."""

    def __init__(self, est, n_in, n_out, output):
        self.lr = est.lr
        self.net = Network([n_in, *est.hidden_layer_sizes, n_out], hidden=est.activation,
                           output=output, seed=est._rng)
        self.opt = optim.make_state(est.optimizer, self.net.n_params, np.float64, est.lr,
                                    est.l2, est.momentum)
        self.plain = est.optimizer == "sgd" and est.l2 == 0.0  # checked_step's path
        self.names = None
        self._attach()

    def _attach(self):
        net = self.net
        self.table, self.loss, self.units = net.spec.table, net.spec.loss, net._ws.units
        self.theta = net.theta
        self.x = np.zeros(net.sizes[0])
        self.y = np.zeros(net.sizes[-1])
        self.out = np.zeros(net.sizes[-1])
        # one target row per class, so learn_one picks one instead of writing one
        self.onehot = list(np.eye(net.sizes[-1]))
        self.lr_buf = np.array([self.lr])
        self.backup = np.empty(net.n_params)
        self.backup3 = np.empty((3, net.n_params))
        # step(): train on (x, y); steps[j](): train on (x, onehot[j]); (status, cost) as
        # checked_step. forward(): the output for x into out; its argmax, or -1 if x is
        # not finite.
        self.step = self._step_on(self.y)
        self.steps = [self._step_on(row) for row in self.onehot]
        self.forward = _bound_forward(self.theta, self.table, self.loss, self.units, self.x,
                                      self.out)
        self.bind(self.names)

    def _step_on(self, y):
        if self.plain:
            return _bound_step(self.theta, self.table, self.loss, self.units, self.x, y,
                               self.lr_buf, self.backup)
        o = self.opt
        return _bound_opt_step(self.theta, self.table, self.loss, self.units, self.x, y, o.code,
                               o.hp, o.m, o.v, o.t, self.backup3)

    def bind(self, names):
        """Enable the fast fill for x dicts with exactly these feature names (the columns,
        in order; None disables it)."""
        self.names = names
        self.gather = self.pack = None
        if names is not None:
            if len(names) != self.x.shape[0]:
                raise ValueError(f"{len(names)} feature names for {self.x.shape[0]} inputs")
            get = operator.itemgetter(*names)
            self.gather = get if len(names) > 1 else (lambda x: (get(x),))
            self.pack = struct.Struct(f"@{len(names)}d").pack_into

    def __getstate__(self):
        return {"lr": self.lr, "net": self.net, "opt": self.opt, "plain": self.plain,
                "names": self.names}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._attach()

    def grown(self, n_in, n_out, rng):
        """A new Engine with n_in inputs and n_out outputs: old parameters (and optimiser
        moments) copied into place, new input columns zero, new output rows drawn as
        fastbp's init draws that layer, their moments zero."""
        new = Engine.__new__(Engine)
        new.lr, new.plain, new.names = self.lr, self.plain, None
        old = self.net
        sizes = [n_in, *old.sizes[1:-1], n_out]
        net = Network(sizes, hidden=old.hidden, output=old.output, loss=old.loss_name,
                      init="zeros", seed=rng)  # "zeros" draws nothing from rng
        new.net = net
        last = net.layout.n_weight_layers - 1
        fan_out, fan_in = net.layout.weight_shape(last)
        e = math.sqrt(6.0) / math.sqrt(fan_in + fan_out)  # glorot_uniform, fastbp's default
        n_old = old.sizes[-1]
        if n_out > n_old:
            net.weights[last][n_old:] = rng.uniform(-e, e, size=(n_out - n_old, fan_in))
        o = self.opt
        m = np.zeros(net.n_params if o.m.shape[0] else 0)
        v = np.zeros(net.n_params if o.v.shape[0] else 0)
        for src, dst in ((old.theta, net.theta), (o.m, m), (o.v, v)):
            if src.shape[0]:
                _copy_into(old.layout, src, net.layout, dst)
        new.opt = optim.OptState(o.code, o.hp.copy(), m, v, o.t.copy())
        new._attach()
        return new


def _copy_into(old_layout, src, new_layout, dst):
    """Each old W^l / b^l block of src into the top-left corner of dst's (grown) block."""
    for l, (w_old, w_new) in enumerate(zip(old_layout.weights(src), new_layout.weights(dst))):
        w_new[:w_old.shape[0], :w_old.shape[1]] = w_old
        b_old, b_new = old_layout.biases(src)[l], new_layout.biases(dst)[l]
        b_new[:b_old.shape[0]] = b_old


class OnlineMLP:
    """The estimators' shared state and the dict -> array path (a mixin)."""

    def _setup(self):
        _check_params(self)
        self._rng = np.random.default_rng(self.seed)
        self._columns = {}
        self._engine = None

    @property
    def n_features_(self):
        return len(self._columns)

    @property
    def network_(self):
        """The fastbp Network (None until the model has one)."""
        return None if self._engine is None else self._engine.net

    def _fill(self, x, eng):
        """Write x's known features into eng.x (absent ones 0); return x's new features (a
        sequence, maybe empty). Non-numeric values raise here; NaN/inf are caught by the
        kernels."""
        if eng.pack is not None and len(x) == len(eng.names):
            try:
                eng.pack(eng.x, 0, *eng.gather(x))
                return ()
            except (KeyError, TypeError, struct.error):
                pass  # a new feature, or a value for _value to name
        buf = eng.x
        buf.fill(0.0)
        cols = self._columns
        new = []
        for name, val in x.items():
            j = cols.get(name)
            if j is None:
                new.append(name)
            elif type(val) is float or type(val) is int:
                buf[j] = val
            else:
                buf[j] = _value(name, val)
        return new

    def _check_all(self, x):
        """Every value of x numeric and finite (ValueError naming the feature)."""
        for name, val in x.items():
            _value(name, val)

    def _add_columns(self, names):
        """New columns for ``names`` (sorted); returns the new column count."""
        for name in sorted(names, key=sort_key):
            self._columns[name] = len(self._columns)
        return len(self._columns)

    def _bind(self, eng):
        """eng, its fast fill bound to the current columns."""
        eng.bind(tuple(self._columns))
        return eng

    def _failed(self, x, status, cost):
        """Raise the error of a step's non-zero status (1: x or y rejected, 2: diverged)."""
        if status == 1:
            self._check_all(x)  # raises, naming the feature
            return
        self._train_status(status, cost)

    def _train(self, step):
        """One checked step (a bound kernel call); raises on status 2; returns the status."""
        status, cost = step()
        return self._train_status(status, cost)

    def _train_status(self, status, cost):
        if status == 2:
            raise DivergenceError(
                f"{type(self).__name__}: this example made the loss or the parameters "
                f"non-finite (cost {cost}); the model is as it was before it. Lower lr "
                f"(now {self.lr}) or scale the features (river.preprocessing.StandardScaler).",
                None, None)
        return status

    def _check_rows(self, X):
        import pandas as pd
        if not isinstance(X, pd.DataFrame):
            raise TypeError(f"X must be a pandas DataFrame, got {type(X).__name__}")

    @staticmethod
    def _rows(X):
        """The rows of a DataFrame as dicts (missing cells, NaN, are left out: absent)."""
        cols = list(X.columns)
        for row in X.itertuples(index=False, name=None):
            yield {c: val for c, val in zip(cols, row)
                   if not (isinstance(val, float) and math.isnan(val))}

    def _matrix(self, X):
        """The model's input matrix for a DataFrame: known columns in place, the rest 0
        (missing cells, NaN, count as 0 like absent features; unknown columns are ignored);
        ValueError naming a column with a non-numeric or infinite value."""
        M = np.zeros((len(X), self._engine.net.sizes[0]))
        for name in X.columns:
            j = self._columns.get(name)
            if j is None:
                continue
            try:
                col = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
            except (TypeError, ValueError):
                raise ValueError(f"feature {name!r} has non-numeric values; encode it first, "
                                 f"e.g. river.preprocessing.OneHotEncoder") from None
            if np.isinf(col).any():
                raise ValueError(f"feature {name!r} has an infinite value; fastbp.river "
                                 f"needs finite numbers")
            M[:, j] = np.nan_to_num(col, nan=0.0)
        return M
