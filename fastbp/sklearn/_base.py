"""``_FastBPBase``: what the classifier and the regressor share (parameters, training,
model files, results)."""
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import _validation as v
from .. import io, optim, options, training
from ..network import Network
from ..training import History
from . import _files as files
from ._common import _FLOATS, _SKLEARN_OUTPUT, ACTIVATIONS, SCHEDULES, SOLVERS, _check_sizes


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
