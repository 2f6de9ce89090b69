"""``Network``: the Python face of the engine.

It validates and converts every input, owns theta (one flat array; ``weights`` and
``biases`` are views into it) and its scratch. ``fit`` runs ``fastbp.training.fit`` (the
outer loop; its options are declared in ``fastbp.options``); the per-example work happens
in ``fastbp.kernels``, one kernel call per epoch or chunk.

Threads. Evaluation (``predict``, ``loss``, ``gradient``, ``cost_and_grad``) takes a
workspace of its own for each call (from a small pool, so no call allocates once the
pool holds one per concurrent caller), so any number of threads may evaluate one network at
once and get exactly the single-threaded results. Training (``fit``, ``partial_fit``)
updates theta in place with the network's training scratch, so one network trains in one
thread at a time: a second training started while one runs raises ``RuntimeError`` (the
same thread may re-enter, e.g. from a ``fit`` callback). Evaluation during a training in
another thread is safe but sees theta mid-update (some examples' steps applied, some not).

Copies. pickle, ``copy.copy``, ``copy.deepcopy`` and ``Network.copy`` all rebuild the
copy's ``weights``/``biases`` as views of its own theta and give it fresh scratch and a
fresh training lock: nothing is shared with the original. ``copy.copy`` is ``copy()``
(an independent network: a shallow copy sharing theta would be two networks training one
array).
"""
import functools
import threading

import numpy as np

from . import _validation as v
from . import init as _init
from . import _online, io, kernels, options, training
from .layout import Layout, aligned_copy, aligned_zeros, is_aligned


class Network:
    """A fully-connected feed-forward network trained by per-example SGD.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first, output last (at least 2 layers).
    hidden : str or sequence of str
        Hidden activation, one name or one per hidden layer: sigmoid, tanh, relu,
        leaky_relu (slope 0.01), elu (alpha 1), softplus, identity.
    output : str
        Output activation: sigmoid, softmax, identity, tanh.
    loss : str or None
        ``mse`` (0.5 * sum_k (a_k - y_k)^2) or ``cross_entropy`` (binary per unit for a
        sigmoid output, categorical for softmax). None picks cross_entropy for
        sigmoid/softmax outputs and mse for identity/tanh.
    init : str
        glorot_uniform, he_uniform, normal (N(0, 0.01^2)) or zeros; biases start at 0.
    dtype : 'float64' or 'float32'
    seed : int, numpy Generator or None
        Seeds the initial weights and, unless ``fit`` gets its own seed, the shuffles.
    """

    def __init__(self, sizes, hidden="sigmoid", output="sigmoid", loss=None,
                 init="glorot_uniform", dtype="float64", seed=None):
        sizes, hidden, output, loss, init, dtype, seed = v.check_architecture(
            sizes, hidden, output, loss, init, dtype, seed)
        self.hidden = hidden
        self.output = output
        self.loss_name = loss
        self.init = init
        self.dtype = dtype
        self.layout = Layout(sizes, self.hidden + (output,), loss)
        self._theta = aligned_zeros(self.layout.n_params, dtype)  # see layout.ALIGN
        self._rng = np.random.default_rng(seed)
        self.history_ = None
        self._attach()
        _init.initialize(self._theta, self.layout, init, self._rng)

    # Everything derived from theta and the layout, or private to one object: rebuilt by
    # every constructor and copy path, never pickled or shared.
    _DERIVED = ("weights", "biases", "spec", "_ws", "_backup", "_lr_buf", "_row",
                "_hogwild_ws", "_eval_ws", "_train_lock")

    def _attach(self):
        """Build the views of theta, the spec, the scratch and the training lock."""
        self.weights = self.layout.weights(self._theta)
        self.biases = self.layout.biases(self._theta)
        self.spec = self.layout.spec()
        # training scratch (fit, partial_fit; guarded by _train_lock)
        self._ws = self.layout.workspace(self.dtype)
        self._backup = np.empty_like(self._theta)  # partial_fit's fast path
        self._lr_buf = np.empty(1, dtype=self.dtype)
        # what partial_fit's and predict's one-example paths read (fastbp._online): sizes,
        # dtype and the buffers an example is converted into
        self._row = _online.context(self)
        # evaluation workspaces: a call pops one (or makes one) and pushes it back; list
        # pop/append are atomic, so no two calls ever hold the same workspace
        self._eval_ws = []
        # RLock: a fit callback may train the same network from the same thread
        self._train_lock = threading.RLock()

    def __getstate__(self):
        return {k: val for k, val in self.__dict__.items() if k not in self._DERIVED}

    def __setstate__(self, state):
        if not is_aligned(state["_theta"]):  # unpickled: NumPy's alignment (layout.ALIGN)
            state = dict(state, _theta=aligned_copy(state["_theta"]))
        self.__dict__.update(state)
        self._attach()

    def __copy__(self):
        return self.copy()

    # ------------------------------------------------------------------ model files
    def save(self, path, generator=True, history=True):
        """Write the network to a model file (``fastbp.io``; atomic), returning ``path``.

        It holds theta, the layout, activation and loss names, init and dtype; with
        ``generator`` (default) the state of the random generator, so that ``fit`` after
        ``fastbp.load`` continues bit for bit as this network's would; with ``history`` its
        ``history_``. Load it with ``fastbp.load(path)`` or ``Network.load(path)``.
        """
        meta, arrays = io.network_parts(self, generator=generator, history=history)
        return io.write(path, "Network", meta, arrays)

    @classmethod
    def load(cls, path):
        """The Network saved in ``path``; ValueError (``fastbp.io.ModelFileError``) naming
        the file if it is damaged, foreign, too new or holds something else."""
        return io.load(path, kind="Network")

    # ------------------------------------------------------------------ structure
    @property
    def sizes(self):
        return self.layout.sizes

    @property
    def n_params(self):
        return self.layout.n_params

    @property
    def theta(self):
        """The whole parameter vector (thetaVec): 1-D, contiguous; weights/biases are views of it."""
        return self._theta

    @theta.setter
    def theta(self, value):
        self._theta[:] = self._check_theta(value, "theta")

    def _check_theta(self, value, name):
        arr = v._as_real_array(name, value, self.dtype)
        if arr.shape != (self.n_params,):
            raise ValueError(f"{name} must have shape ({self.n_params},) for sizes "
                             f"{list(self.sizes)}, got {arr.shape}")
        return v._cast_finite(name, arr, self.dtype)  # finite after the cast

    def workspace(self):
        """A fresh workspace (flat z / a / delta / grad buffers) for calling the kernels yourself."""
        return self.layout.workspace(self.dtype)

    def copy(self):
        """An independent network with the same architecture and a copy of theta."""
        state = self.__getstate__()
        state["_theta"] = aligned_copy(self._theta)
        # a child of the generator's seed sequence: an independent stream for the copy that
        # leaves the original's draws (its next fit's shuffles) as they were
        state["_rng"] = np.random.default_rng(self._rng.bit_generator.seed_seq.spawn(1)[0])
        new = type(self).__new__(type(self))
        new.__setstate__(state)
        return new

    def _training(self):
        """The training lock, taken without waiting; RuntimeError if another thread holds it.

        Two trainings of one network at once would interleave their in-place updates and
        share one workspace, so the second is refused rather than queued behind the first
        (a queued fit would silently train on the first one's result).
        """
        if not self._train_lock.acquire(False):
            raise self._busy()
        return self._train_lock

    @staticmethod
    def _busy():
        return RuntimeError(
            "this Network is being trained by another thread; one network trains in one "
            "thread at a time. Wait for that fit/partial_fit to return, or train a copy "
            "(net.copy()) and assign its theta afterwards.")

    def _take_ws(self):
        try:
            return self._eval_ws.pop()
        except IndexError:
            return self.layout.workspace(self.dtype)

    def __repr__(self):
        hidden = self.hidden[0] if len(set(self.hidden)) == 1 else list(self.hidden)
        return (f"Network({list(self.sizes)}, hidden={hidden!r}, output={self.output!r}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name!r}, n_params={self.n_params})")

    # ------------------------------------------------------------------ data
    def _scalar(self, x):
        return self.dtype.type(x)

    def _xy(self, X, Y, aligned=False):
        """(X, Y) validated as the kernels take them; ``aligned``: see ``check_X``."""
        X, _ = v.check_X(X, self.sizes[0], self.dtype, aligned=aligned)
        Y = v.check_Y(Y, X.shape[0], self.sizes[-1], self.output, self.loss_name, self.dtype)
        return X, Y

    # ------------------------------------------------------------------ evaluation
    def predict(self, X):
        """Output activations a^L for the rows of X (a 1-D x gives a 1-D output)."""
        out = _online.predict(self, X)  # one row: one kernel call (None: not one row)
        if out is not None:
            return out
        X, was_1d = v.check_X(X, self.sizes[0], self.dtype, allow_1d=True)
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        ws = self._take_ws()
        kernels.predict(self._theta, self.spec, ws, X, out)
        self._eval_ws.append(ws)
        return out[0] if was_1d else out

    def loss(self, X, Y, l2=0.0):
        """Mean cost over the rows of (X, Y) plus (l2/2) * sum(W^2) over weights (not biases)."""
        l2 = v.check_real("l2", l2, minimum=0.0, dtype=self.dtype)
        X, Y = self._xy(X, Y)
        ws = self._take_ws()
        J = kernels.loss(self._theta, self.spec, ws, X, Y, self._scalar(l2))
        self._eval_ws.append(ws)
        return float(J)

    def gradient(self, X, Y, l2=0.0):
        """Gradient of ``loss(X, Y, l2)`` with respect to theta, a new array in theta's layout."""
        l2 = v.check_real("l2", l2, minimum=0.0, dtype=self.dtype)
        X, Y = self._xy(X, Y)
        grad = np.empty_like(self._theta)
        ws = self._take_ws()
        kernels.loss_and_gradient(self._theta, self.spec, ws, X, Y, self._scalar(l2), grad)
        self._eval_ws.append(ws)
        return grad

    def cost_and_grad(self, theta, X, Y, l2=0.0):
        """(J, grad) at the given theta, leaving the network's own theta untouched.

        For ``scipy.optimize.minimize(lambda t: net.cost_and_grad(t, X, Y), net.theta,
        jac=True)``; grad is a new float64 array.
        """
        theta = self._check_theta(theta, "theta").copy()
        l2 = v.check_real("l2", l2, minimum=0.0, dtype=self.dtype)
        X, Y = self._xy(X, Y)
        grad = np.empty_like(theta)
        ws = self._take_ws()
        J = kernels.loss_and_gradient(theta, self.spec, ws, X, Y, self._scalar(l2), grad)
        self._eval_ws.append(ws)
        return float(J), grad.astype(np.float64)

    # ------------------------------------------------------------------ training
    @functools.wraps(training.fit)  # fit(self, X, Y, <every option of fastbp.options>)
    def fit(self, *args, **kwargs):
        lock = self._training()
        try:
            return training.fit(self, *args, **kwargs)
        finally:
            lock.release()

    def partial_fit(self, X, Y, lr=options.DEFAULTS["lr"],
                    batch_size=options.DEFAULTS["batch_size"], l2=options.DEFAULTS["l2"]):
        """One pass over (X, Y) in the given row order (online learning); returns its mean loss.

        X may be a single example (1-D), with Y its target row or class index. RuntimeError
        if another thread is training this network.
        """
        # the lock taken inline: this is the online loop's per-example path
        lock = self._train_lock
        if not lock.acquire(False):
            raise self._busy()
        try:
            # Fast path: one example in any natural form (fastbp._online brings it into
            # 1-D arrays of the network's dtype, or None). The same checks (finite inputs,
            # targets in the loss's domain, divergence with theta restored) run inside one
            # kernel; any failure re-runs the full path, which raises the precise error.
            # Tiny or huge lr (0 or inf in float32), bools and any l2 but 0 take the full
            # path, whose validation decides.
            xy = _online.example(self._row, X, Y) \
                if _online.options_plain(lr, batch_size, l2) else None
            if xy is not None:
                self._lr_buf[0] = lr
                status, cost = kernels.checked_step(self._theta, self.spec.table,
                                                    self.spec.loss, self._ws.units, xy[0],
                                                    xy[1], self._lr_buf, self._backup)
                if status == 0:
                    return float(cost)
            return self._partial_fit(X, Y, lr, batch_size, l2)
        finally:
            lock.release()

    def _partial_fit(self, X, Y, lr, batch_size, l2):
        """partial_fit's full path (under the training lock)."""
        if np.ndim(X) == 1:
            # one example: x of shape (n_inputs,) with y of shape (n_outputs,) or a class index
            X = np.asarray(X)[None, :]
            Y = np.asarray(Y)
            Y = Y[None] if Y.ndim <= 1 else Y
        # one unshuffled epoch of the training loop fit uses (same kernels, same checks and
        # divergence handling); it leaves the history of the last fit in place
        opts = options.validate(len(self.sizes) - 2, dtype=self.dtype, epochs=1, lr=lr,
                                batch_size=batch_size, l2=l2, shuffle=False, progress=False)
        last_fit = self.history_
        try:
            history = training.train(self, X, Y, opts)
        finally:
            self.history_ = last_fit
        return history.loss[0]


io.register("Network", Network)
