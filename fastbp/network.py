"""``Network``: the Python face of the engine.

It validates and converts every input, owns theta (one flat array; ``weights`` and
``biases`` are views into it) and one workspace. ``fit`` is ``fastbp.training.fit`` (the
outer loop; its options are declared in ``fastbp.options``); the per-example work happens
in ``fastbp.kernels``, one kernel call per epoch or chunk.
"""
import math

import numpy as np

from . import _validation as v
from . import init as _init
from . import kernels, options, training
from .layout import Layout


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
        self._theta = np.zeros(self.layout.n_params, dtype=dtype)
        self.weights = self.layout.weights(self._theta)
        self.biases = self.layout.biases(self._theta)
        self.spec = self.layout.spec()
        self._ws = self.layout.workspace(dtype)
        self._backup = np.empty_like(self._theta)  # scratch for partial_fit's fast path
        self._lr_buf = np.empty(1, dtype=dtype)
        self._rng = np.random.default_rng(seed)
        _init.initialize(self._theta, self.layout, init, self._rng)
        self.history_ = None

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
        v._check_finite(name, arr)
        return np.ascontiguousarray(arr, dtype=self.dtype)

    def workspace(self):
        """A fresh workspace (flat z / a / delta / grad buffers) for calling the kernels yourself."""
        return self.layout.workspace(self.dtype)

    def copy(self):
        """An independent network with the same architecture and a copy of theta."""
        new = Network.__new__(Network)
        new.__dict__.update(self.__dict__)
        new._theta = self._theta.copy()
        new.weights = new.layout.weights(new._theta)
        new.biases = new.layout.biases(new._theta)
        new._ws = new.layout.workspace(self.dtype)
        new._backup = np.empty_like(new._theta)
        new._lr_buf = np.empty(1, dtype=self.dtype)
        new._rng = np.random.default_rng(self._rng.integers(2**63))
        return new

    def __repr__(self):
        hidden = self.hidden[0] if len(set(self.hidden)) == 1 else list(self.hidden)
        return (f"Network({list(self.sizes)}, hidden={hidden!r}, output={self.output!r}, "
                f"loss={self.loss_name!r}, dtype={self.dtype.name!r}, n_params={self.n_params})")

    # ------------------------------------------------------------------ data
    def _scalar(self, x):
        return self.dtype.type(x)

    def _xy(self, X, Y):
        X, _ = v.check_X(X, self.sizes[0], self.dtype)
        Y = v.check_Y(Y, X.shape[0], self.sizes[-1], self.output, self.loss_name, self.dtype)
        return X, Y

    # ------------------------------------------------------------------ evaluation
    def predict(self, X):
        """Output activations a^L for the rows of X (a 1-D x gives a 1-D output)."""
        X, was_1d = v.check_X(X, self.sizes[0], self.dtype, allow_1d=True)
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        kernels.predict(self._theta, self.spec, self._ws, X, out)
        return out[0] if was_1d else out

    def loss(self, X, Y, l2=0.0):
        """Mean cost over the rows of (X, Y) plus (l2/2) * sum(W^2) over weights (not biases)."""
        l2 = v.check_real("l2", l2, minimum=0.0)
        X, Y = self._xy(X, Y)
        return float(kernels.loss(self._theta, self.spec, self._ws, X, Y, self._scalar(l2)))

    def gradient(self, X, Y, l2=0.0):
        """Gradient of ``loss(X, Y, l2)`` with respect to theta, a new array in theta's layout."""
        l2 = v.check_real("l2", l2, minimum=0.0)
        X, Y = self._xy(X, Y)
        grad = np.empty_like(self._theta)
        kernels.loss_and_gradient(self._theta, self.spec, self._ws, X, Y, self._scalar(l2), grad)
        return grad

    def cost_and_grad(self, theta, X, Y, l2=0.0):
        """(J, grad) at the given theta, leaving the network's own theta untouched.

        For ``scipy.optimize.minimize(lambda t: net.cost_and_grad(t, X, Y), net.theta,
        jac=True)``; grad is a new float64 array.
        """
        theta = self._check_theta(theta, "theta").copy()
        l2 = v.check_real("l2", l2, minimum=0.0)
        X, Y = self._xy(X, Y)
        grad = np.empty_like(theta)
        J = kernels.loss_and_gradient(theta, self.spec, self._ws, X, Y, self._scalar(l2), grad)
        return float(J), grad.astype(np.float64)

    # ------------------------------------------------------------------ training
    fit = training.fit  # fit(self, X, Y, <every option of fastbp.options>)

    def partial_fit(self, X, Y, lr=options.DEFAULTS["lr"],
                    batch_size=options.DEFAULTS["batch_size"], l2=options.DEFAULTS["l2"]):
        """One pass over (X, Y) in the given row order (online learning); returns its mean loss.

        X may be a single example (1-D), with Y its target row or class index.
        """
        # Fast path for the online loop: one example as 1-D arrays of the network's dtype.
        # The same checks (finite inputs, targets in the loss's domain, divergence with
        # theta restored) run inside one kernel; any failure re-runs the full path below,
        # which raises the precise error.
        if (type(X) is np.ndarray and type(Y) is np.ndarray and X.ndim == 1 and Y.ndim == 1
                and X.dtype == self.dtype and Y.dtype == self.dtype
                and X.shape[0] == self.layout.sizes[0] and Y.shape[0] == self.layout.sizes[-1]
                and X.flags.c_contiguous and Y.flags.c_contiguous
                and type(lr) is float and 0.0 < lr < math.inf and batch_size == 1
                and l2 == 0.0 and type(batch_size) is int):
            ws = self._ws
            self._lr_buf[0] = lr
            status, cost = kernels.checked_step(self._theta, self.spec.table, self.spec.loss,
                                                ws.units, X, Y, self._lr_buf, self._backup)
            if status == 0:
                return float(cost)
        if np.ndim(X) == 1:
            # one example: x of shape (n_inputs,) with y of shape (n_outputs,) or a class index
            X = np.asarray(X)[None, :]
            Y = np.asarray(Y)
            Y = Y[None] if Y.ndim <= 1 else Y
        # one unshuffled epoch of the training loop fit uses (same kernels, same checks and
        # divergence handling); it leaves the history of the last fit in place
        opts = options.validate(len(self.sizes) - 2, epochs=1, lr=lr, batch_size=batch_size,
                                l2=l2, shuffle=False, progress=False)
        last_fit = self.history_
        try:
            history = training.train(self, X, Y, opts)
        finally:
            self.history_ = last_fit
        return history.loss[0]
