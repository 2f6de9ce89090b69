"""MLPRegressor: one identity output unit, mean squared error, trained one example at a time."""
import math
import numbers

from river import base

from ._classifier import _DOC_PARAMS
from ._core import Engine, OnlineMLP


def _target(y):
    """y as a finite float, or ValueError."""
    if isinstance(y, numbers.Real) and not isinstance(y, bool):
        f = float(y)
        if math.isfinite(f):
            return f
    raise ValueError(f"y must be a finite number, got {y!r}; drop or impute such targets")


class MLPRegressor(OnlineMLP, base.MiniBatchRegressor):
    __doc__ = """A neural network regressor trained by per-example SGD (fastbp's kernels).

    One identity output unit with the squared error 0.5 (a - y)^2. With ``scale_y``
    (default) the network learns ``(y - mean) / std`` with the running mean and standard
    deviation of the targets seen so far (including this one; std 1 until two different
    targets), and predicts ``mean + std * a``, so raw targets of any scale train with the
    default learning rate; ``scale_y=False`` learns y itself. Columns as ``MLPClassifier``:
    fixed by the first example, a later new feature adds a zero column, a missing feature
    counts as 0. Non-numeric or non-finite x or y raise ValueError; an example that makes
    training diverge raises ``fastbp.training.DivergenceError``; either way the model is as
    it was before it. Before the first example it predicts 0.
""" + _DOC_PARAMS + """
    scale_y
        Learn the targets standardised with their running mean and standard deviation.

    Examples
    --------
    >>> from river import datasets, evaluate, metrics, preprocessing
    >>> import fastbp.river
    >>> model = preprocessing.StandardScaler() | fastbp.river.MLPRegressor(seed=0)
    >>> evaluate.progressive_val_score(datasets.TrumpApproval(), model, metrics.MAE())
    MAE: ...

    """

    def __init__(self, hidden_layer_sizes=(32,), activation="relu", optimizer="adam",
                 lr=0.01, l2=0.0, momentum=0.9, seed=None, scale_y=True):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.l2 = l2
        self.momentum = momentum
        self.seed = seed
        self.scale_y = scale_y
        self._setup()
        self._n, self._mean, self._m2 = 0, 0.0, 0.0  # Welford's running moments of y

    def _moments(self, y):
        """(n, mean, m2) with y added, and y standardised by them (not stored yet)."""
        if not self.scale_y:
            return (self._n + 1, 0.0, 0.0), y
        n = self._n + 1
        d = y - self._mean
        mean = self._mean + d / n
        m2 = self._m2 + d * (y - mean)
        std = math.sqrt(m2 / n) if m2 > 0.0 else 1.0
        return (n, mean, m2), (y - mean) / std

    def _scale(self):
        if not self.scale_y:
            return 0.0, 1.0
        return self._mean, (math.sqrt(self._m2 / self._n) if self._m2 > 0.0 else 1.0)

    # ------------------------------------------------------------------ learning
    def learn_one(self, x, y):
        if type(y) is not float and type(y) is not int or not math.isfinite(y):
            y = _target(y)
        moments, target = self._moments(y)
        eng = self._engine
        if eng is not None and not self._fill(x, eng):
            eng.y[0] = target
            status, cost = eng.step()
            if status:
                self._failed(x, status, cost)
            self._n, self._mean, self._m2 = moments
            return
        self._learn_growing(x, moments, target)

    def _learn_growing(self, x, moments, target):
        """learn_one when the model may grow: checks first, old state back on failure."""
        self._check_all(x)
        saved = (dict(self._columns), self._engine)
        try:
            n_in = self._add_columns([k for k in x if k not in self._columns])
            if n_in:
                eng = self._engine
                if eng is None:
                    eng = Engine(self, n_in, 1, "identity")
                elif eng.net.sizes[0] != n_in:
                    eng = eng.grown(n_in, 1, self._rng)
                self._bind(eng)
                self._fill(x, eng)
                eng.y[0] = target
                self._train(eng.step)
                self._engine = eng
        except BaseException:
            self._columns, self._engine = saved
            raise
        self._n, self._mean, self._m2 = moments

    def learn_many(self, X, y):
        """learn_one on each row in order (exactly); a NaN cell is an absent feature."""
        self._check_rows(X)
        for x, target in zip(self._rows(X), y.tolist() if hasattr(y, "tolist") else y):
            self.learn_one(x, target)

    # ------------------------------------------------------------------ prediction
    def predict_one(self, x, **kwargs):
        eng = self._engine
        mean, std = self._scale()
        if eng is None:
            self._check_all(x)
            return mean
        self._fill(x, eng)
        if eng.forward() < 0:
            self._check_all(x)
        return mean + std * float(eng.out[0])

    def predict_many(self, X):
        import pandas as pd
        self._check_rows(X)
        mean, std = self._scale()
        if self._engine is None:
            return pd.Series([mean] * len(X), index=X.index, dtype=float)
        out = self._engine.net.predict(self._matrix(X))[:, 0]
        return pd.Series(mean + std * out, index=X.index)
