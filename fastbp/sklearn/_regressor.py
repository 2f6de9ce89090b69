"""``FastBPRegressor``."""
import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import validate_data

from .. import _validation as v
from . import _files as files
from ._base import _FastBPBase
from ._common import _ATTRS_DOC, _FLOATS, _PARAMS_DOC, _REGRESSOR_LR, _ravel_column


class FastBPRegressor(RegressorMixin, _FastBPBase):
    __doc__ = """A feed-forward network regressor trained by fastbp (per-example SGD by default).

    Identity output and squared error (fastbp's 0.5 * sum over outputs per example); one
    or several outputs. The targets are standardised inside (``y_mean_``, ``y_scale_``, the
    standard deviation, 1 for a constant column) and predictions mapped back, so raw targets
    of any scale train with the default learning rate; ``loss_curve_`` and the last layer
    of ``coefs_`` / ``intercepts_`` are in standardised units (an exported ``network_``
    predicts ``(y - y_mean_) / y_scale_``). ``partial_fit`` takes the scaling from its first
    call's rows. X is left as given: scale it in a pipeline. No ``sample_weight``.
    """ + _PARAMS_DOC.format(lr=0.001, lr_note=_REGRESSOR_LR) + _ATTRS_DOC + """
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        The targets' standardisation: the network learns (y - y_mean_) / y_scale_.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="sgd",
                 alpha=1e-4, batch_size=1, learning_rate="constant", learning_rate_init=0.001,
                 power_t=0.5, max_iter=200, shuffle=True, random_state=None, tol=1e-4,
                 verbose=False, momentum=0.9, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 dtype="float64"):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            momentum=momentum,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            dtype=dtype,
        )

    def fit(self, X, y):
        """Train a new network on (X, y) for up to ``max_iter`` epochs; returns self."""
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=_FLOATS,
                             reset=True)
        Y = self._scale(y)
        net = self._new_network(X.shape[1], Y.shape[1], "identity")
        self._layers(Y.shape[1], "identity")
        return self._train(net, X, Y, incremental=False)

    def partial_fit(self, X, y):
        """One pass over (X, y) (shuffled if ``shuffle``), continuing the network and the
        optimiser state; the first call fixes the target scaling. Returns self."""
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=_FLOATS,
                             reset=first)
        if first:
            Y = self._scale(y)
            self._layers(Y.shape[1], "identity")
            net = self._new_network(X.shape[1], Y.shape[1], "identity")
            self.n_iter_ = self.t_ = 0
            self.loss_curve_ = []
            self.history_ = None
        else:
            y = _ravel_column(y)
            Y = np.reshape(y, (y.shape[0], -1))
            if Y.shape[1] != self.n_outputs_:
                raise ValueError(f"y has {Y.shape[1]} output(s) but the regressor was "
                                 f"trained with {self.n_outputs_}")
            Y = (Y - self.y_mean_) / self.y_scale_
            net = self.network_
        return self._train(net, X, Y.astype(v.check_dtype(self.dtype)), incremental=True)

    def _scale(self, y):
        y = _ravel_column(y)
        self._y_1d = y.ndim == 1
        Y = np.reshape(np.asarray(y, dtype=np.float64), (y.shape[0], -1))
        self.y_mean_ = Y.mean(axis=0)
        scale = Y.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        return ((Y - self.y_mean_) / self.y_scale_).astype(v.check_dtype(self.dtype))

    _META_KEYS = {"params", "n_features_in", "n_iter", "t", "optimizer", "y_1d"}

    def _fitted_parts(self, arrays):
        arrays["y_mean"], arrays["y_scale"] = self.y_mean_, self.y_scale_
        return {"y_1d": bool(self._y_1d)}

    def _restore_parts(self, meta, arrays, net):
        n_out = net.sizes[-1]
        if net.output != "identity" or net.loss_name != "mse":
            raise ValueError(f"a regressor has an identity output with mse, not "
                             f"{net.output} with {net.loss_name}")
        self.y_mean_ = files.array(arrays, "y_mean", "f", (n_out,)).astype(np.float64)
        self.y_scale_ = files.array(arrays, "y_scale", "f", (n_out,)).astype(np.float64)
        if not (np.isfinite(self.y_mean_).all() and np.isfinite(self.y_scale_).all()
                and (self.y_scale_ > 0).all()):
            raise ValueError("y_mean must be finite and y_scale finite and positive")
        if not isinstance(meta["y_1d"], bool) or (meta["y_1d"] and n_out != 1):
            raise ValueError(f"y_1d must be true or false (true only for one output), got "
                             f"{meta['y_1d']!r}")
        self._y_1d = meta["y_1d"]
        return {"y_mean", "y_scale"}

    def predict(self, X):
        """Predicted targets: 1-D for a 1-D y, else (n_samples, n_outputs)."""
        P = self._forward(X) * self.y_scale_ + self.y_mean_
        return P.ravel() if self._y_1d else P

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
