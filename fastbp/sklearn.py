"""scikit-learn estimators over ``fastbp.Network``: ``FastBPClassifier``, ``FastBPRegressor``.

Needs scikit-learn (``pip install "fastbp[sklearn]"``). The estimators follow scikit-learn's
API (``get_params``/``set_params``, ``fit`` returning self, ``partial_fit``, ``predict``,
``score``, tags, ``validate_data``) and pass its ``check_estimator``; parameters carry
``MLPClassifier``'s names where one exists. Training runs fastbp's kernels: per-example SGD
(or mini-batches) with any of fastbp's optimisers.

``fit`` trains a new network; ``partial_fit`` makes one pass over the rows it is given and
continues the same network and the same optimiser state (momentum, Adam's moments and step
count) across calls, so ``partial_fit`` twice on (X, y) is bit for bit ``fit`` with
``max_iter=2`` (same ``random_state``, no early stopping).
"""
import numbers
import warnings

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6
except ImportError as exc:  # pragma: no cover - the extra is missing or too old
    raise ImportError('fastbp.sklearn needs scikit-learn >= 1.6: pip install '
                      '"fastbp[sklearn]"') from exc
from sklearn.exceptions import ConvergenceWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import (check_classification_targets, type_of_target,
                                      unique_labels)
from sklearn.utils.validation import check_is_fitted, column_or_1d

from . import _sklearn_files as files
from . import activations, io, optim, options, training
from . import _validation as v
from .network import Network
from .training import History

__all__ = ["FastBPClassifier", "FastBPRegressor"]

#: scikit-learn's activation names -> fastbp's (fastbp's own names pass through)
ACTIVATIONS = {"logistic": "sigmoid", **{name: name for name in activations.HIDDEN}}
_SKLEARN_OUTPUT = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity"}
SOLVERS = options.OPTIMIZERS  # sgd, momentum, nesterov, adam
SCHEDULES = options.SCHEDULES  # constant, invscaling, step, exponential, adaptive
_FLOATS = (np.float64, np.float32)

_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(100,)
        Units per hidden layer; ``()`` for none (a linear model with the output's link).
    activation : str, default="relu"
        Hidden activation: "logistic" (= fastbp's "sigmoid"), "tanh", "relu", "identity", or
        any fastbp name ("sigmoid", "leaky_relu", "elu", "softplus").
    solver : {{"sgd", "momentum", "nesterov", "adam"}}, default="sgd"
        fastbp's optimiser, with scikit-learn's update rules. Unlike MLP's "sgd", "sgd" here
        is plain SGD; "momentum" and "nesterov" use ``momentum``. No "lbfgs". Per example,
        Adam updates every parameter at every step and costs several times plain SGD.
    alpha : float, default=1e-4
        L2 penalty in scikit-learn's convention: each step adds ``alpha * W / b`` to the mean
        gradient of its b rows (``b = batch_size``, 1 for per-example SGD), the gradient of
        ``mean loss + alpha / (2 b) * ||W||^2``. fastbp's step adds ``l2 * W``, so the
        estimator trains with ``l2 = alpha / batch_size`` (``l2 = alpha`` per example; an
        epoch's last, smaller batch gets the same l2). Biases are not penalised.
    batch_size : int or "auto", default=1
        Rows per step: 1 is per-example SGD (fastbp's fast path), b > 1 steps with the mean
        gradient of b rows, "auto" is min(200, n_samples) as in MLP. Clipped to the number
        of training rows.
    learning_rate : {{"constant", "invscaling", "adaptive", "step", "exponential"}}, \
default="constant"
        fastbp's per-epoch schedule of ``learning_rate_init`` (``power_t`` for invscaling;
        "adaptive" divides the rate by 5 whenever ``n_iter_no_change`` epochs fail to lower
        the loss by ``tol``, and training stops once it falls below 1e-6).
    learning_rate_init : float, default={lr}
        The (initial) learning rate{lr_note}.
    power_t : float, default=0.5
        Exponent of the "invscaling" schedule (lr / epoch^power_t).
    max_iter : int, default=200
        Most epochs (passes over the training rows) per ``fit``.
    shuffle : bool, default=True
        Visit the rows in a new random order every epoch (also in ``partial_fit``).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights, the shuffles and the validation split.
    tol : float, default=1e-4
        Without early stopping, training stops when ``n_iter_no_change`` epochs in a row
        fail to lower the training loss by ``tol``; with it, the validation loss.
    verbose : bool, default=False
        One line per epoch on stderr.
    momentum : float, default=0.9
        Of the "momentum" and "nesterov" solvers.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the rows (a seeded random split), stop when the
        validation loss has not improved by ``tol`` for ``n_iter_no_change`` epochs and keep
        the best epoch's parameters (MLP watches the validation score instead).
    validation_fraction : float, default=0.1
        Share of the rows held out under early stopping.
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    dtype : {{"float64", "float32"}}, default="float64"
        The network's floating-point type.
"""

_ATTRS_DOC = """
    Attributes
    ----------
    network_ : fastbp.Network
        The trained network (``network_.theta`` holds every parameter).
    coefs_, intercepts_ : list of ndarray
        Weights in scikit-learn's orientation, ``coefs_[l]`` of shape (n_in, n_out), and
        biases: views of ``network_.theta`` (``W^l.T``), so writing into them changes the
        model.
    loss_curve_ : list of float
        Mean training loss per epoch (each example's cost measured just before its own
        update) plus (l2 / 2) ||W||^2; ``partial_fit`` appends one entry per call.
    n_iter_ : int
        Epochs run (by the last ``fit``, plus one per ``partial_fit`` call since).
    t_ : int
        Training rows seen (as MLP's).
    history_ : fastbp.History or None
        fastbp's record of the last ``fit`` (loss, validation loss and accuracy, lr, time).
    n_features_in_, feature_names_in_ : int, ndarray
        As every scikit-learn estimator.
    n_outputs_, n_layers_, out_activation_ : int, int, str
        As MLP's.
"""


_REGRESSOR_LR = """ (the classifier's 0.003 generalises worse on small
        regression sets: diabetes, scaled, 5-fold R^2 0.33 against 0.45)"""


def _check_sizes(value):
    if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
        value = (value,)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints, "
                        f"got {value!r}")
    return [v.check_int(f"hidden_layer_sizes[{i}]", s) for i, s in enumerate(value)]


class _FastBPBase(BaseEstimator):
    """What the classifier and the regressor share; see their docstrings."""

    def __init__(self, hidden_layer_sizes, activation, *, solver, alpha, batch_size,
                 learning_rate, learning_rate_init, power_t, max_iter, shuffle, random_state,
                 tol, verbose, momentum, beta_1, beta_2, epsilon, early_stopping,
                 validation_fraction, n_iter_no_change, dtype):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.dtype = dtype

    # ---------------------------------------------------------------- parameters
    def _options(self, n_rows, dtype, epochs, incremental):
        """fastbp's training options (keywords) for this estimator's parameters, each
        checked under its scikit-learn name, on ``n_rows`` rows; and fit's stop rule (None
        under early stopping and in partial_fit)."""
        chk = options.check
        if isinstance(self.batch_size, str) and self.batch_size == "auto":
            batch = min(200, n_rows)
        else:
            batch = min(chk("batch_size", self.batch_size), n_rows)
        early = v.check_bool("early_stopping", self.early_stopping)
        fraction = options.BY_NAME["validation_fraction"].check(
            "validation_fraction", self.validation_fraction, {"validation_data": None})
        if early and not incremental:  # the batch fits in the rows left for training
            batch = max(1, min(batch, n_rows - int(np.ceil(fraction * n_rows))))
        alpha = v.check_real("alpha", self.alpha, minimum=0.0)
        schedule = v.check_choice("learning_rate", self.learning_rate, SCHEDULES)
        kw = dict(
            epochs=epochs,
            lr=chk("lr", self.learning_rate_init, "learning_rate_init", dtype),
            batch_size=batch, l2=alpha / batch, shuffle=chk("shuffle", self.shuffle),
            optimizer=v.check_choice("solver", self.solver, SOLVERS),
            momentum=chk("momentum", self.momentum, dtype=dtype),
            beta1=chk("beta1", self.beta_1, "beta_1", dtype),
            beta2=chk("beta2", self.beta_2, "beta_2", dtype),
            epsilon=chk("epsilon", self.epsilon, dtype=dtype),
            schedule=schedule, power_t=chk("power_t", self.power_t),
            tol=chk("tol", self.tol),
            adaptive_patience=chk("patience", self.n_iter_no_change, "n_iter_no_change"),
            progress=v.check_bool("verbose", self.verbose))
        if incremental:
            # one pass at the schedule's rate for the next epoch (adaptive: its initial rate)
            kw["lr"] = options.schedule_lr(options.validate(0, **kw), self._epochs_done() + 1)
            kw["schedule"] = "constant"
            return kw, None
        stop = None
        if early:
            kw.update(early_stopping=True, validation_fraction=fraction,
                      patience=kw["adaptive_patience"], min_delta=kw["tol"])
        else:
            stop = _stop_rule(kw["tol"], kw["adaptive_patience"], schedule == "adaptive")
        return kw, stop

    def _epochs_done(self):
        return getattr(self, "n_iter_", 0)

    def _seed(self):
        return int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))

    # ---------------------------------------------------------------- training
    def _new_network(self, n_in, n_out, output):
        hidden = v.check_choice("activation", self.activation, ACTIVATIONS)
        sizes = [n_in, *_check_sizes(self.hidden_layer_sizes), n_out]
        return Network(sizes, hidden=ACTIVATIONS[hidden], output=output,
                       dtype=v.check_dtype(self.dtype), seed=self._seed())

    def _state_for(self, net, opts, fresh):
        """The optimiser state to train with: the stored one if it is of this solver (its
        hp set to this call's options), else (and for a fit) a fresh one."""
        state = None if fresh else getattr(self, "_opt_state", None)
        if state is None or state.code != optim.CODES[opts.optimizer] \
                or state.m.dtype != net.dtype or (state.code != optim.SGD
                                                  and state.m.shape[0] != net.n_params):
            return optim.make_state(opts.optimizer, net.n_params, net.dtype, opts.lr, opts.l2,
                                    opts.momentum, opts.beta1, opts.beta2, opts.epsilon)
        state.hp[:] = [opts.lr, opts.l2, opts.momentum, opts.beta1, opts.beta2, opts.epsilon]
        return state

    def _train(self, net, X, Y, incremental):
        """One fit (a new network ``net``) or one partial_fit pass; records the results."""
        epochs = 1 if incremental else v.check_int("max_iter", self.max_iter)
        kw, stop = self._options(X.shape[0], net.dtype, epochs, incremental)
        opts = options.validate(len(net.sizes) - 2, dtype=net.dtype, callback=stop, **kw)
        state = self._state_for(net, opts, fresh=not incremental)
        last_fit = getattr(self, "history_", None)
        try:
            with net._training():
                history = training.train(net, X, Y, opts, state=state)
        except BaseException:
            if not incremental:  # a failed fit leaves the estimator unfitted, not half-new
                self.__dict__.pop("network_", None)
            net.history_ = last_fit  # a failed pass restored theta and the moments
            raise
        if incremental:  # network_.history_ stays the last fit's, as history_
            net.history_ = last_fit
        self.network_ = net
        self._opt_state = state
        if incremental:
            self.n_iter_ = self._epochs_done() + 1
            self.t_ = getattr(self, "t_", 0) + X.shape[0]
            self.loss_curve_ = getattr(self, "loss_curve_", []) + history.loss
            return self
        self.history_ = history
        self.loss_curve_ = list(history.loss)
        self.n_iter_ = len(history)
        self.t_ = X.shape[0] * self.n_iter_
        if self.n_iter_ == opts.epochs and not history.stopped_early:
            warnings.warn(f"{type(self).__name__}: max_iter={opts.epochs} epochs reached and "
                          f"the optimisation has not converged yet.", ConvergenceWarning)
        return self

    def _layers(self, n_out, output):
        self.n_outputs_ = n_out
        self.n_layers_ = len(_check_sizes(self.hidden_layer_sizes)) + 2
        self.out_activation_ = _SKLEARN_OUTPUT[output]

    # ---------------------------------------------------------------- model files
    def save(self, path):
        """Write the fitted estimator to ``path`` as a fastbp model file (an ``.npz`` read
        without pickle; ``fastbp.load(path)`` or ``type(self).load(path)`` reads it back).

        It holds the parameters (a ``RandomState`` instance as ``random_state`` is saved as
        None), the fitted attributes, the network with its generator state and last fit's
        history, and the optimiser state: predictions after loading are bit for bit the
        same, and so is training resumed with ``partial_fit``. Object-dtype string labels
        come back as a unicode array. Returns ``path``.
        """
        check_is_fitted(self, "network_")
        net_meta, arrays = io.network_parts(self.network_, prefix="network.")
        state = self._opt_state
        arrays.update({"loss_curve": np.asarray(self.loss_curve_, dtype=np.float64),
                       "opt.hp": state.hp, "opt.m": state.m, "opt.v": state.v,
                       "opt.t": state.t})
        if hasattr(self, "feature_names_in_"):
            arrays["feature_names_in"] = np.asarray(self.feature_names_in_, dtype=str)
        meta = {"params": files.params_to_json(self), "n_features_in": int(self.n_features_in_),
                "n_iter": int(self.n_iter_), "t": int(self.t_),
                "optimizer": files.CODE_NAMES[state.code]}
        meta.update(self._fitted_parts(arrays))
        return io.write(path, type(self).__name__, {"network": net_meta, "estimator": meta},
                        arrays)

    @classmethod
    def load(cls, path):
        """The estimator saved in ``path`` by ``save``; ValueError
        (``fastbp.ModelFileError``) naming the file and the problem otherwise."""
        return io.load(path, kind=cls.__name__)

    @classmethod
    def _from_model_file(cls, meta, arrays):
        """The estimator from a model file's parts (``fastbp.io.load`` calls this after its
        own checks of the file); ValueError/TypeError/KeyError if they do not fit."""
        meta = files.keys("meta", meta, {"network", "estimator"})
        net = io.network_from_parts(meta["network"], arrays, prefix="network.")
        m = files.keys("meta['estimator']", meta["estimator"], cls._META_KEYS)
        est = cls(**files.params_from_json(cls, m["params"]))
        n_in, n_out = net.sizes[0], net.sizes[-1]
        hidden = ACTIVATIONS.get(est.activation) if isinstance(est.activation, str) else None
        if _check_sizes(est.hidden_layer_sizes) != list(net.sizes[1:-1]) \
                or any(h != hidden for h in net.hidden):
            raise ValueError(f"the parameters (hidden_layer_sizes={est.hidden_layer_sizes!r}, "
                             f"activation={est.activation!r}) do not describe the network "
                             f"{list(net.sizes)} with hidden {list(net.hidden)}")
        est.network_ = net
        est.history_ = net.history_
        est.n_features_in_ = files.count("n_features_in", m["n_features_in"], n_in, n_in)
        if "feature_names_in" in arrays:
            names = files.array(arrays, "feature_names_in", "U", (n_in,))
            est.feature_names_in_ = names.astype(object)
        est.n_iter_ = files.count("n_iter", m["n_iter"], 0)
        est.t_ = files.count("t", m["t"], 0)
        est.loss_curve_ = [float(x) for x in files.array(arrays, "loss_curve", "f", None)]
        est.n_layers_ = len(net.sizes)
        est.n_outputs_ = n_out
        est.out_activation_ = _SKLEARN_OUTPUT[net.output]
        est._opt_state = files.state_from(m["optimizer"], arrays, net)
        names = est._restore_parts(m, arrays, net)
        names |= {"loss_curve", "feature_names_in", "opt.hp", "opt.m", "opt.v", "opt.t",
                  "network.theta"}
        if net.history_ is not None:
            names |= {f"network.history.{key}" for key in History.KEYS}
        extra = sorted(set(arrays) - names)
        if extra:
            raise ValueError(f"unexpected arrays {extra}")
        return est

    # ---------------------------------------------------------------- results
    def _forward(self, X):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=_FLOATS)
        return self.network_.predict(X)

    @property
    def coefs_(self):
        check_is_fitted(self, "network_")
        return [W.T for W in self.network_.weights]

    @property
    def intercepts_(self):
        check_is_fitted(self, "network_")
        return list(self.network_.biases)


def _stop_rule(tol, patience, adaptive):
    """fit's callback: stop after ``patience`` epochs in a row that fail to lower the training
    loss by ``tol`` (under the adaptive schedule, which lowers the rate instead, once the
    rate is below 1e-6)."""
    best, bad = [np.inf], [0]

    def stop(net, epoch, history):
        if adaptive:
            return history.lr[-1] < 1e-6
        loss = history.loss[-1]
        bad[0] = bad[0] + 1 if loss > best[0] - tol else 0
        best[0] = min(best[0], loss)
        return bad[0] >= patience

    return stop


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


def _ravel_column(y):
    """A column vector y as 1-D, with scikit-learn's DataConversionWarning."""
    if getattr(y, "ndim", 1) == 2 and y.shape[1] == 1:
        return column_or_1d(y, warn=True)
    return y


def _multilabel(y):
    return type_of_target(y).startswith("multilabel")
