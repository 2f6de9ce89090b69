"""What the estimators share: scikit-learn's names for fastbp's choices, the parameter
and attribute docs, and small checks of parameters and targets."""
import numbers

import numpy as np
from sklearn.utils.validation import column_or_1d

from .. import _validation as v
from .. import activations, options

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


def _ravel_column(y):
    """A column vector y as 1-D, with scikit-learn's DataConversionWarning."""
    if getattr(y, "ndim", 1) == 2 and y.shape[1] == 1:
        return column_or_1d(y, warn=True)
    return y
