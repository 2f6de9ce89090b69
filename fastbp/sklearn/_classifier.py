"""``FastBPClassifier``."""
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import (check_classification_targets, type_of_target,
                                      unique_labels)
from sklearn.utils.validation import validate_data

from .. import _validation as v
from . import _files as files
from ._base import _FastBPBase
from ._common import _ATTRS_DOC, _FLOATS, _PARAMS_DOC, _ravel_column


class FastBPClassifier(ClassifierMixin, _FastBPBase):
    __doc__ = """A feed-forward network classifier trained by fastbp (per-example SGD by default).

    Labels may be of any type (ints, strings, -1/+1, pandas Categorical): binary (one
    sigmoid output unit, as MLPClassifier: two softmax units would carry one redundant
    logit), multiclass (softmax over the classes, categorical cross-entropy) or multilabel
    (a 2-D 0/1 indicator y: one sigmoid unit per label, binary cross-entropy). X must be
    numeric and dense; scale it (``make_pipeline(StandardScaler(), FastBPClassifier())``)
    for the best results. No ``sample_weight``: the kernels weigh every example alike.
    """ + _PARAMS_DOC.format(lr=0.003, lr_note="") + _ATTRS_DOC + """
    classes_ : ndarray
        The class labels (for multilabel y, the label indices 0 .. n_labels - 1).
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="sgd",
                 alpha=1e-4, batch_size=1, learning_rate="constant", learning_rate_init=0.003,
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
        X, y = validate_data(self, X, y, multi_output=True, dtype=_FLOATS, reset=True)
        self._binarizer = self._binarize(y)
        Y, output = self._targets(y)
        net = self._new_network(X.shape[1], Y.shape[1], output)
        self._layers(Y.shape[1], output)
        return self._train(net, X, Y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One pass over (X, y) (shuffled if ``shuffle``), continuing the network and the
        optimiser state; the first call needs ``classes`` (all the labels there will be),
        except for a multilabel y. Returns self."""
        first = not hasattr(self, "network_")
        X, y = validate_data(self, X, y, multi_output=True, dtype=_FLOATS, reset=first)
        if first:
            if classes is None and not _multilabel(y):
                raise ValueError("classes must be passed on the first call to partial_fit "
                                 "(all the labels the classifier will see)")
            self._binarizer = self._binarize(y if classes is None else np.asarray(classes))
            Y, output = self._targets(y)
            self._layers(Y.shape[1], output)
            net = self._new_network(X.shape[1], Y.shape[1], output)
            self.n_iter_ = self.t_ = 0
            self.loss_curve_ = []
            self.history_ = None
        else:
            if classes is not None and not np.array_equal(
                    unique_labels(np.asarray(classes)), unique_labels(self.classes_)):
                raise ValueError(f"classes={classes!r} differs from the first call's "
                                 f"classes_ {self.classes_!r}")
            Y, _ = self._targets(y)
            net = self.network_
        return self._train(net, X, Y, incremental=True)

    def _binarize(self, y):
        y = _ravel_column(y)
        check_classification_targets(y)
        binarizer = LabelBinarizer().fit(y)
        if len(binarizer.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes, but "
                             f"the data contains only one class: {binarizer.classes_[0]!r}")
        self.classes_ = binarizer.classes_
        return binarizer

    def _targets(self, y):
        """(Y for the network, output activation) for labels y."""
        y = _ravel_column(y)
        check_classification_targets(y)
        b = self._binarizer
        if b.y_type_ != "multilabel-indicator":
            unseen = np.setdiff1d(unique_labels(y), b.classes_)
            if unseen.size:
                raise ValueError(f"y has labels {unseen!r} that are not among classes_ "
                                 f"{b.classes_!r}")
        Y = b.transform(y)
        output = "softmax" if b.y_type_ == "multiclass" else "sigmoid"
        return np.asarray(Y, dtype=v.check_dtype(self.dtype)), output

    _META_KEYS = {"params", "n_features_in", "n_iter", "t", "optimizer", "y_type"}

    def _fitted_parts(self, arrays):
        classes = np.asarray(self.classes_)
        if classes.dtype == object:
            if not all(isinstance(c, str) for c in classes):
                raise TypeError("save keeps numeric, bool or string class labels only; "
                                f"classes_ holds {classes!r}")
            classes = classes.astype(str)
        arrays["classes"] = classes
        return {"y_type": self._binarizer.y_type_}

    def _restore_parts(self, meta, arrays, net):
        y_type = meta["y_type"]
        classes = files.array(arrays, "classes", "biufU", None)
        n_out = net.sizes[-1]
        if y_type == "multilabel-indicator":
            if not np.array_equal(classes, np.arange(n_out)) or n_out < 2:
                raise ValueError("a multilabel classifier's classes are 0 .. n_outputs - 1")
            binarizer = LabelBinarizer().fit(np.eye(n_out, dtype=int))
            output = "sigmoid"
        elif y_type in ("binary", "multiclass"):
            if classes.ndim != 1 or classes.size != np.unique(classes).size:
                raise ValueError("classes must be distinct labels")
            binarizer = LabelBinarizer().fit(classes)
            if not np.array_equal(binarizer.classes_, classes):
                raise ValueError("classes are not sorted")
            output = "sigmoid" if y_type == "binary" else "softmax"
            if (y_type == "binary") != (classes.size == 2) \
                    or n_out != (1 if y_type == "binary" else classes.size):
                raise ValueError(f"{classes.size} classes do not fit a {y_type} network "
                                 f"with {n_out} output(s)")
        else:
            raise ValueError(f"unknown target type {y_type!r}")
        if net.output != output or net.loss_name != "cross_entropy":
            raise ValueError(f"a {y_type} classifier has a {output} output with "
                             f"cross_entropy, not {net.output} with {net.loss_name}")
        self._binarizer = binarizer
        self.classes_ = binarizer.classes_
        return {"classes"}

    def predict(self, X):
        """The predicted labels (a 0/1 indicator matrix for multilabel)."""
        P = self._forward(X)
        return self._binarizer.inverse_transform(P)

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_`` (binary: [1 - p, p];
        multilabel: each label's own probability)."""
        P = self._forward(X)
        if self._binarizer.y_type_ == "binary":
            return np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X):
        """log(predict_proba(X)) (-inf where a probability rounded to 0)."""
        P = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(P)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _multilabel(y):
    return type_of_target(y).startswith("multilabel")
