"""River estimators over fastbp's kernels (``pip install "fastbp[river]"``).

``MLPClassifier`` and ``MLPRegressor`` implement River's ``learn_one`` / ``predict_one``
protocol (and the mini-batch one on pandas DataFrames), train one example per kernel call
and pass ``river.checks.check_estimator``. Importing ``fastbp`` does not import River.
"""
from ._classifier import MLPClassifier
from ._regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
