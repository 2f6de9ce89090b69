"""Peers whose users train online, one call per example: scikit-learn's ``partial_fit``,
deep-river (River's neural networks, PyTorch per example) and ``fastbp.river``.

scikit-learn's trajectory is checked against fastbp's (same initial weights set through
``coefs_``/``intercepts_``); the River-protocol peers build their own networks from dicts
and are timed only (``checked = False``: reported as "not checked").
"""
import numpy as np

from .cases import LR
from .impl import Impl, _importable


class SklearnImpl(Impl):
    """``MLPClassifier`` / ``MLPRegressor.partial_fit``, solver 'sgd' with constant learning
    rate LR, no momentum, alpha 0, logistic hidden units: one call per example (batch 1) or
    per mini-batch, as its users call it for streaming data."""

    name = "scikit-learn"

    def available(self):
        return _importable("sklearn")

    def prepare(self, case, net, X, Y, order, batch_size):
        from sklearn.neural_network import MLPClassifier

        if case.output != "softmax":
            # scikit-learn's output units are fixed by the estimator: softmax/logistic with
            # log-loss (classifier) or identity with squared error (regressor); tiny's sigmoid
            # output with squared error is neither, so its trajectory could not be compared
            raise NotImplementedError("scikit-learn has no sigmoid output with squared error "
                                      "(tiny's loss)")
        k = case.sizes[-1]
        hidden = tuple(case.sizes[1:-1])
        est = MLPClassifier(hidden, activation="logistic", solver="sgd", alpha=0.0,
                            learning_rate="constant", learning_rate_init=LR, momentum=0.0,
                            nesterovs_momentum=False, batch_size=batch_size, shuffle=False)
        labels = Y.argmax(axis=1)
        m = order.shape[0] // batch_size * batch_size
        steps = [(X[order[i:i + batch_size]], labels[order[i:i + batch_size]])
                 for i in range(0, m, batch_size)]
        classes = np.arange(k)
        layout = net.layout

        def run(theta0):
            # the first call builds the estimator (and takes one step we then overwrite):
            # scikit-learn has no other way to set initial weights
            est.partial_fit(steps[0][0], steps[0][1], classes=classes)
            est.coefs_ = [W.T.copy() for W in layout.weights(theta0)]
            est.intercepts_ = [b.copy() for b in layout.biases(theta0)]
            for x, y in steps:
                est.partial_fit(x, y)
            return layout.unroll([W.T for W in est.coefs_], est.intercepts_, dtype=net.dtype)

        return run


def _learn_one_epoch(make, case, X, Y, order, batch_size):
    """``run`` for a River-protocol peer: a fresh ``make()`` model, one ``learn_one`` per row
    in order, on dicts built outside the timed region (timed only: returns no theta)."""
    if batch_size != 1:
        raise NotImplementedError("per example only (learn_one)")
    names = [f"x{j}" for j in range(X.shape[1])]
    xs = [dict(zip(names, X[i].tolist())) for i in order]
    ys = (Y[order].argmax(axis=1).tolist() if case.output == "softmax"
          else Y[order, 0].tolist())

    def run(theta0):
        model = make()
        for x, y in zip(xs, ys):
            model.learn_one(x, y)
        return None

    return run


class DeepRiverImpl(Impl):
    """deep-river's ``Classifier`` / ``Regressor`` (PyTorch, River's protocol), one
    ``learn_one`` per example on dicts, with plain SGD at LR: timed, not checked (it builds
    and initialises its own module)."""

    name = "deep-river"
    checked = False

    def available(self):
        return _importable("deep_river")

    def prepare(self, case, net, X, Y, order, batch_size):
        import torch
        from torch import nn

        torch.set_num_threads(1)
        sizes, softmax = case.sizes, case.output == "softmax"

        class Module(nn.Module):
            def __init__(self, n_features=sizes[0]):
                super().__init__()
                layers = []
                for i in range(len(sizes) - 2):
                    layers += [nn.Linear(sizes[i], sizes[i + 1]), nn.Sigmoid()]
                layers.append(nn.Linear(sizes[-2], sizes[-1]))
                if not softmax:
                    layers.append(nn.Sigmoid())
                self.net = nn.Sequential(*layers)

            def forward(self, x):
                return self.net(x)

        if softmax:
            from deep_river.classification import Classifier

            def make():
                return Classifier(module=Module(), loss_fn="cross_entropy", optimizer_fn="sgd",
                                  lr=LR, output_is_logit=True, is_class_incremental=False)
        else:
            from deep_river.regression import Regressor

            def make():
                return Regressor(module=Module(), loss_fn="mse", optimizer_fn="sgd", lr=LR)
        return _learn_one_epoch(make, case, X, Y, order, batch_size)


class FastbpRiverImpl(Impl):
    """``fastbp.river.MLPClassifier`` / ``MLPRegressor``: ``learn_one`` per example on dicts
    (float64, plain SGD at LR): timed, not checked (River's protocol grows its own network)."""

    name = "fastbp.river"
    checked = False

    def available(self):
        return _importable("river")

    def prepare(self, case, net, X, Y, order, batch_size):
        from .. import river as fr

        hidden = tuple(case.sizes[1:-1])
        if case.output == "softmax":
            def make():
                return fr.MLPClassifier(hidden, activation="sigmoid", optimizer="sgd", lr=LR,
                                        seed=0)
        else:
            def make():
                return fr.MLPRegressor(hidden, activation="sigmoid", optimizer="sgd", lr=LR,
                                       seed=0, scale_y=False)
        return _learn_one_epoch(make, case, X, Y, order, batch_size)
