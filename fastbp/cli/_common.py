"""What the commands on the user's data share: the one-line errors, scikit-learn's absence,
loading a model file and reading DATA for it."""
import os

import numpy as np


# ---------------------------------------------------------------------------- the user's data
class UsageError(Exception):
    """A mistake in the command line, the data or a model file: one line on stderr, status 2."""


SKLEARN_MISSING = 'this command needs scikit-learn: pip install "fastbp[sklearn]"'


def _estimators():
    """The module ``fastbp.sklearn`` (UsageError if scikit-learn is missing)."""
    try:
        from .. import sklearn as estimators
    except ImportError as exc:
        if _is_sklearn_missing(exc):
            raise UsageError(SKLEARN_MISSING) from None
        raise
    return estimators


def _is_sklearn_missing(exc):
    """Whether ``exc`` (or an exception it was raised from) failed to import scikit-learn."""
    while exc is not None:
        if isinstance(exc, ImportError) and (exc.name or "").split(".")[0] == "sklearn":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _load_model(path):
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    from .. import load

    try:
        return load(path)
    except ImportError as exc:
        if _is_sklearn_missing(exc):
            raise UsageError(SKLEARN_MISSING) from None
        raise
    except (ValueError, OSError) as exc:
        text = str(exc)
        raise UsageError(text if path in text else f"{path}: {text}") from None


def _network_of(model):
    from ..network import Network

    net = model if isinstance(model, Network) else getattr(model, "network_", None)
    if not isinstance(net, Network):
        raise UsageError(f"this command takes a trained estimator or a Network, not a "
                         f"{type(model).__name__}")
    return net


def _n_features(model):
    n = getattr(model, "n_features_in_", None)
    return int(n) if n is not None else int(_network_of(model).sizes[0])


def _feature_names(model):
    names = getattr(model, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _read_for(model, args, need_target):
    """The table in ``args.data`` for ``model``: its feature columns by name when the model
    knows them, and as many columns as it has inputs."""
    from .. import _tabular

    names = _feature_names(model)
    n = _n_features(model)
    try:
        table = _tabular.read(args.data, target=args.target, need_target=need_target,
                              features=names if _tabular.kind_of(args.data) == ".csv" else None)
    except _tabular.DataError as exc:
        if names is None and args.target is None and "not a number" in str(exc):
            raise _tabular.DataError(f"{exc}; the model has no column names, so every column "
                                     f"is a feature: give --target COLUMN to leave one out") \
                from None
        raise
    if table.X.shape[1] != n:
        hint = ""
        if table.y is None and table.X.shape[1] == n + 1:
            hint = " (give --target to leave the target column out)"
        raise UsageError(f"{args.data}: has {table.X.shape[1]} feature column(s), but the model "
                         f"{args.model} takes {n}{hint}")
    return table


def _is_classifier(model):
    return hasattr(model, "classes_")


def _describe_network(net):
    hidden = sorted(set(net.hidden))
    return (f"{'-'.join(map(str, net.sizes))} network (hidden {'/'.join(hidden) or 'none'}, "
            f"output {net.output}, loss {net.loss_name}, {np.dtype(net.dtype).name}, "
            f"{net.n_params} parameters)")
