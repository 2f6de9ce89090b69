"""``fastbp train``, ``predict`` and ``evaluate``: fit an estimator on DATA and save it, apply
a model file to DATA."""
import contextlib
import csv
import os
import sys
import time

import numpy as np

from ._common import (UsageError, _describe_network, _estimators, _is_classifier, _load_model,
                      _network_of, _read_for)


def _say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def train(args):
    from .. import _tabular

    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        raise UsageError(f"--out {args.out}: the folder {out_dir} does not exist")
    table = _tabular.read(args.data, target=args.target, need_target=True)
    task, y = _tabular.infer_task(table.y, args.task, name=f"{args.data}: the target "
                                                          f"{table.target_name!r}")
    estimators = _estimators()
    est = _make_estimator(estimators, task, args)
    if task == "classification":
        kinds = f"{np.unique(y).size} classes" if y.ndim == 1 else f"{y.shape[1]} labels"
    else:
        kinds = "one output" if y.ndim == 1 else f"{y.shape[1]} outputs"
    _say(f"fastbp train: {table.X.shape[0]} rows, {table.X.shape[1]} features, target "
         f"{table.target_name!r}: {task} ({kinds})")
    t0 = time.perf_counter()
    # progress lines go to stderr; stdout is kept for results
    with contextlib.redirect_stdout(sys.stderr):
        try:
            est.fit(table.X, y)
        except (ValueError, TypeError, FloatingPointError) as exc:
            # a parameter out of range (checked by fit) or divergence (DivergenceError)
            raise UsageError(str(exc)) from None
    seconds = time.perf_counter() - t0
    score = est.score(table.X, y)
    if table.feature_names is not None:
        # scikit-learn's record of the columns (it sets it only for DataFrames): predict
        # picks DATA's columns by these names
        est.feature_names_in_ = np.asarray(table.feature_names, dtype=object)
    est.save(args.out)
    what = "accuracy" if task == "classification" else "R^2"
    _say(f"trained {_describe_network(_network_of(est))} for {getattr(est, 'n_iter_', '?')} "
         f"epoch(s) in {seconds:.2f} s; training {what} {score:.4f}; saved to {args.out}")
    return 0


def _make_estimator(estimators, task, args):
    """The estimator for ``task`` with the options given (the others take its defaults; its
    parameters are checked when it fits)."""
    params = {"verbose": not args.quiet}
    for option, param in ESTIMATOR_PARAMS.items():
        value = getattr(args, option)
        if value is not None and value is not False:
            params[param] = value
    if args.l2 is not None:
        # fastbp's l2 (each step adds l2 * W) in the estimators' convention, alpha = l2 * b
        params["alpha"] = args.l2 * (1 if args.batch_size is None else args.batch_size)
    cls = estimators.FastBPClassifier if task == "classification" else estimators.FastBPRegressor
    return cls(**params)


#: command-line option (argparse dest) -> the estimators' parameter
ESTIMATOR_PARAMS = {
    "layers": "hidden_layer_sizes", "hidden": "activation", "epochs": "max_iter",
    "lr": "learning_rate_init", "batch_size": "batch_size", "optimizer": "solver",
    "validation_fraction": "validation_fraction", "early_stopping": "early_stopping",
    "patience": "n_iter_no_change", "tol": "tol", "seed": "random_state", "dtype": "dtype",
}


def predict(args):
    model = _load_model(args.model)
    table = _read_for(model, args, need_target=False)
    if args.proba:
        if not hasattr(model, "predict_proba"):
            raise UsageError(f"--proba needs a classifier; {args.model} holds a "
                             f"{type(model).__name__}")
        values = model.predict_proba(table.X)
        header = [str(c) for c in model.classes_] if np.ndim(model.classes_) == 1 else None
    else:
        values = model.predict(table.X)
        header = None
    values = np.asarray(values)
    if values.ndim == 1:
        values = values[:, None]
    if header is None or len(header) != values.shape[1]:
        header = ["prediction"] if values.shape[1] == 1 else \
            [f"prediction_{k}" for k in range(values.shape[1])]
    _write_csv(args.out, header if not args.no_header else None, values)
    return 0


def _write_csv(path, header, values):
    try:
        f = open(path, "w", newline="") if path else sys.stdout
    except OSError as exc:
        raise UsageError(f"--out {path}: cannot write it: {exc.strerror or exc}") from None
    try:
        w = csv.writer(f, lineterminator="\n")
        if header is not None:
            w.writerow(header)
        # str of a NumPy scalar is the shortest text that reads back as the same value
        w.writerows([str(v) for v in row] for row in values)
    finally:
        if path:
            f.close()


def evaluate(args):
    from .. import _tabular

    model = _load_model(args.model)
    table = _read_for(model, args, need_target=True)
    name = f"{args.data}: the target {table.target_name!r}"
    if _is_classifier(model):
        classes = np.asarray(model.classes_)
        if classes.dtype.kind in "biuf":
            _, y = _tabular.infer_task(table.y, "classification", name=name)
        else:
            y = table.y.astype(str)
        metric = "accuracy"
    elif hasattr(model, "score"):
        _, y = _tabular.infer_task(table.y, "regression", name=name)
        metric = "R^2"
    else:
        raise UsageError(f"evaluate takes a trained estimator; {args.model} holds a "
                         f"{type(model).__name__} (use gradcheck or predict)")
    score = model.score(table.X, y)
    print(f"{metric} {score:.6f} on {table.X.shape[0]} rows")
    return 0
