"""``Network``: the Python face of the engine.

It validates and converts every input, owns theta (one flat array; ``weights`` and
``biases`` are views into it) and one workspace, and runs the outer loop of training:
the order of the rows each epoch, timing, the history and the divergence check. The
per-example work happens in ``fastbp.kernels``, one kernel call per epoch.
"""
import math

import numpy as np

from . import _validation as v
from . import activations as act
from . import init as _init
from . import kernels
from . import losses
from .layout import Layout
from . import training


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
        sizes = v.check_sizes(sizes)
        n_hidden = len(sizes) - 2
        if isinstance(hidden, str):
            v.check_choice("hidden", hidden, act.HIDDEN)
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
                v.check_choice(f"hidden[{i}]", h, act.HIDDEN)
        v.check_choice("output", output, act.OUTPUT)
        if loss is None:
            loss = losses.DEFAULT_LOSS[output]
        v.check_choice("loss", loss, losses.CODES)
        if loss == "cross_entropy" and output not in losses.CROSS_ENTROPY_OUTPUTS:
            raise ValueError(f"loss='cross_entropy' needs a sigmoid or softmax output, got "
                             f"output={output!r}; use loss='mse' for an {output} output")
        if output == "softmax" and sizes[-1] < 2:
            raise ValueError(f"a softmax output needs at least 2 units, got sizes[-1] = "
                             f"{sizes[-1]}; use output='sigmoid' for one unit")
        v.check_choice("init", init, _init.INITS)
        dtype = v.check_dtype(dtype)
        seed = v.check_seed("seed", seed)

        self.hidden = tuple(hidden)
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
    def fit(self, X, Y, epochs=1, lr=0.1, batch_size=1, l2=0.0, shuffle=True, seed=None,
            optimizer="sgd", momentum=0.9, beta1=0.9, beta2=0.999, epsilon=1e-8,
            schedule="constant", power_t=0.5, decay=0.1, step_size=10, tol=1e-4,
            adaptive_patience=2, validation_data=None, validation_fraction=None,
            early_stopping=False, patience=10, min_delta=0.0, progress=None, callback=None,
            chunk_size=65536, dropout=None, n_threads=None):
        """Train for ``epochs`` passes over (X, Y); returns a ``History``.

        Steps: batch_size 1 is per-example SGD; b > 1 updates with the mean gradient of b
        examples (the last batch of an epoch may be smaller). Each step adds l2 * W to the
        weights' gradient. With ``shuffle`` the rows are visited in a new random order every
        epoch, drawn from ``seed`` (or from the network's own generator when seed is None).

        optimizer: "sgd", "momentum" (``momentum``), "nesterov" (``momentum``) or "adam"
        (``beta1``, ``beta2``, ``epsilon``); scikit-learn's update rules; the state starts
        at zero in every fit.
        schedule: the learning rate per epoch: "constant", "invscaling" (lr / epoch^power_t),
        "step" (times ``decay`` every ``step_size`` epochs), "exponential" (times ``decay``
        every epoch) or "adaptive" (divided by 5 whenever ``adaptive_patience`` epochs in a
        row fail to lower the monitored loss by ``tol``; the monitored loss is the validation
        loss when there is validation data, else the training loss).
        validation_data=(X_val, Y_val) or validation_fraction (held out from X after a
        seeded shuffle): the validation loss and accuracy are recorded every epoch.
        early_stopping: stop when the validation loss has not improved by more than
        ``min_delta`` for ``patience`` epochs and restore the best epoch's parameters
        (validation_fraction defaults to 0.1 when no validation data is given).
        progress: one line per epoch on stderr (default: only when stderr is a terminal).
        callback(net, epoch, history) after each epoch; returning True stops training.
        dropout: inverted dropout on the hidden layers during training: one drop rate for
        all of them or one per hidden layer (0 = off); off at prediction. Masks come from a
        counter-based generator seeded from ``seed``, so runs are reproducible.
        chunk_size: rows per kernel call; Ctrl-C is honoured between calls, leaving the
        model at the last completed chunk with ``history_`` (and the exception's
        ``history``) holding the completed epochs.

        n_threads: k > 1 runs Hogwild: k threads do per-example SGD on parts of each epoch,
        updating theta without locks (plain SGD only; not bit-reproducible, since the
        interleaving of updates varies from run to run).

        Raises ``DivergenceError`` (theta restored to its state before the epoch) if the
        loss or the parameters become non-finite.
        """
        return training.fit(self, X, Y, epochs=epochs, lr=lr, batch_size=batch_size, l2=l2,
                            shuffle=shuffle, seed=seed, optimizer=optimizer, momentum=momentum,
                            beta1=beta1, beta2=beta2, epsilon=epsilon, schedule=schedule,
                            power_t=power_t, decay=decay, step_size=step_size, tol=tol,
                            adaptive_patience=adaptive_patience, validation_data=validation_data,
                            validation_fraction=validation_fraction,
                            early_stopping=early_stopping, patience=patience,
                            min_delta=min_delta, progress=progress, callback=callback,
                            chunk_size=chunk_size, dropout=dropout, n_threads=n_threads)

    def partial_fit(self, X, Y, lr=0.1, batch_size=1, l2=0.0):
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
        last_fit = self.history_
        try:
            history = training.fit(self, X, Y, epochs=1, lr=lr, batch_size=batch_size, l2=l2,
                                   shuffle=False, progress=False)
        finally:
            self.history_ = last_fit
        return history.loss[0]
