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
try:
    from sklearn.base import BaseEstimator
    from sklearn.utils.validation import validate_data  # scikit-learn >= 1.6
except ImportError as exc:  # pragma: no cover - the extra is missing or too old
    raise ImportError('fastbp.sklearn needs scikit-learn >= 1.6: pip install '
                      '"fastbp[sklearn]"') from exc
del BaseEstimator, validate_data  # checked here; the modules import what they use

from . import _common
from ._classifier import FastBPClassifier
from ._regressor import FastBPRegressor

__all__ = ["FastBPClassifier", "FastBPRegressor"]

# the name tables, still reachable as fastbp.sklearn.ACTIVATIONS etc.
ACTIVATIONS, SOLVERS, SCHEDULES = _common.ACTIVATIONS, _common.SOLVERS, _common.SCHEDULES
