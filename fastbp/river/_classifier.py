"""MLPClassifier: a softmax over the classes seen so far, trained one example at a time."""
import numpy as np
from river import base

from ._core import Engine, OnlineMLP

_DOC_PARAMS = """
    Parameters
    ----------
    hidden_layer_sizes
        Units per hidden layer.
    activation
        Hidden activation: relu, tanh, sigmoid, leaky_relu, elu, softplus, identity.
    optimizer
        sgd, momentum, nesterov or adam (scikit-learn's rules); its state (velocity, Adam's
        moments and step count) is kept across calls.
    lr
        Learning rate.
    l2
        L2 penalty on the weights, added to every example's gradient.
    momentum
        The momentum of the momentum and nesterov optimisers.
    seed
        Seeds the initial weights (and the rows of new classes)."""


class MLPClassifier(OnlineMLP, base.MiniBatchClassifier):
    __doc__ = """A neural network classifier trained by per-example SGD (fastbp's kernels).

    The output layer is a softmax over the labels seen so far, one unit per label in the
    order they were first seen (``classes_``). A new label adds a unit (its weights drawn as
    fastbp's glorot_uniform init draws the output layer, the existing parameters
    unchanged). Until a second label arrives there is no network: the only label seen has
    probability 1. The first example fixes the input columns; a later new feature adds a
    zero column to the first layer. A missing feature counts as 0, and prediction ignores
    features the model has not learnt from yet. NaN, inf or non-numeric values raise
    ValueError naming the feature; an example that makes training diverge raises
    ``fastbp.training.DivergenceError``; either way the model is as it was before it.
""" + _DOC_PARAMS + """

    Examples
    --------
    >>> from river import datasets, evaluate, metrics, preprocessing
    >>> import fastbp.river
    >>> model = preprocessing.StandardScaler() | fastbp.river.MLPClassifier(seed=0)
    >>> evaluate.progressive_val_score(datasets.Phishing(), model, metrics.Accuracy())
    Accuracy: ...

    """

    def __init__(self, hidden_layer_sizes=(32,), activation="relu", optimizer="sgd",
                 lr=0.05, l2=0.0, momentum=0.9, seed=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.lr = lr
        self.l2 = l2
        self.momentum = momentum
        self.seed = seed
        self._setup()
        self.classes_ = []
        self._class_index = {}

    @property
    def _multiclass(self):
        return True

    # ------------------------------------------------------------------ learning
    def learn_one(self, x, y):
        eng = self._engine
        if eng is not None:
            j = self._class_index.get(y)
            # the common case: a known label and no new feature
            if j is not None and not self._fill(x, eng):
                status, cost = eng.steps[j]()
                if status:
                    self._failed(x, status, cost)
                return
        self._learn_growing(x, y)

    def _learn_growing(self, x, y):
        """learn_one when the model may grow (new features, a new label, no network yet):
        everything is checked first and the old state is put back if the step fails."""
        self._check_all(x)
        if y is None:
            raise ValueError("y is None; a label must be a hashable value (bool, int, str...)")
        hash(y)  # TypeError for an unhashable label, before any change
        saved = (dict(self._columns), list(self.classes_), dict(self._class_index),
                 self._engine, self._rng.bit_generator.state)
        try:
            self._grow_and_step(x, y)
        except BaseException:
            (self._columns, self.classes_, self._class_index, self._engine,
             self._rng.bit_generator.state) = saved
            raise

    def _grow_and_step(self, x, y):
        n_in = self._add_columns([k for k in x if k not in self._columns])
        if y not in self._class_index:
            self._class_index[y] = len(self.classes_)
            self.classes_.append(y)
        n_out = len(self.classes_)
        if n_out < 2 or n_in == 0:
            return  # nothing to learn yet: one label, or no feature
        eng = self._engine
        if eng is None:
            eng = Engine(self, n_in, n_out, "softmax")
        elif eng.net.sizes[0] != n_in or eng.net.sizes[-1] != n_out:
            eng = eng.grown(n_in, n_out, self._rng)
        self._bind(eng)
        self._fill(x, eng)
        self._train(eng.steps[self._class_index[y]])
        self._engine = eng

    def learn_many(self, X, y):
        """learn_one on each row in order (exactly); a NaN cell is an absent feature."""
        self._check_rows(X)
        for x, label in zip(self._rows(X), y.tolist() if hasattr(y, "tolist") else y):
            self.learn_one(x, label)

    # ------------------------------------------------------------------ prediction
    def _forward(self, x):
        """The index of x's most probable class; the probabilities in self._engine.out."""
        eng = self._engine
        self._fill(x, eng)
        best = eng.forward()
        if best < 0:
            self._check_all(x)  # raises, naming the feature
        return best

    def predict_proba_one(self, x, **kwargs):
        if self._engine is None:
            self._check_all(x)
            n = len(self.classes_)
            return {c: 1.0 / n for c in self.classes_}
        self._forward(x)
        return dict(zip(self.classes_, self._engine.out.tolist()))

    def predict_one(self, x, **kwargs):
        if self._engine is None:
            self._check_all(x)
            return self.classes_[0] if self.classes_ else None
        eng = self._engine
        self._fill(x, eng)
        best = eng.forward()
        if best < 0:
            self._check_all(x)  # raises, naming the feature
        return self.classes_[best]

    def predict_proba_many(self, X):
        import pandas as pd
        self._check_rows(X)
        if self._engine is None:
            n = len(self.classes_)
            return pd.DataFrame({c: np.full(len(X), 1.0 / n) for c in self.classes_},
                                index=X.index)
        P = self._engine.net.predict(self._matrix(X))
        return pd.DataFrame(P, index=X.index, columns=list(self.classes_))

    def predict_many(self, X):
        import pandas as pd
        self._check_rows(X)
        if self._engine is None:
            label = self.classes_[0] if self.classes_ else None
            return pd.Series([label] * len(X), index=X.index, dtype=object)
        P = self._engine.net.predict(self._matrix(X))
        labels = [self.classes_[j] for j in P.argmax(axis=1)]
        return pd.Series(labels, index=X.index)
