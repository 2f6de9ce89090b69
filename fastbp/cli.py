"""The ``fastbp`` command.

``fastbp demo`` trains a network on a built-in synthetic data set and reports per-epoch
loss, test accuracy, and the samples/second of fastbp and of the NumPy baseline on the
same data. ``fastbp bench`` times fastbp, the NumPy baseline, JAX and PyTorch (when
installed) side by side, single-threaded.

For the user's own data (``fastbp._tabular`` reads CSV, .npy and .npz): ``fastbp train``
fits a ``fastbp.sklearn`` estimator and saves it, ``predict``, ``evaluate``, ``info`` and
``gradcheck`` load a model file with ``fastbp.load``. Expected failures (a missing file, a
bad column, a malformed CSV, a model that does not fit the data, scikit-learn missing) print
one line, ``fastbp: error: ...``, on stderr and exit with status 2; anything else is a bug
and keeps its traceback.
"""
import argparse
import contextlib
import csv
import os
import subprocess
import sys
import time
import warnings

#: environment that keeps BLAS, OpenMP and XLA to one thread, for single-core comparisons
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}

import numpy as np


def _sizes(text):
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers such as "
                                         f"64,32,10, got {text!r}") from None
    return sizes


def demo(args, out=None):
    from . import baseline, datasets
    from .network import Network

    out = sys.stdout if out is None else out

    def say(*parts):
        print(*parts, file=out, flush=True)

    sizes = args.sizes
    n_classes = sizes[-1]
    X, y = datasets.make_prototypes(n_samples=args.n_samples, n_features=sizes[0],
                                    n_classes=n_classes, seed=args.seed)
    n_test = max(1, len(X) // 5)
    Xtr, ytr, Xte, yte = X[n_test:], y[n_test:], X[:n_test], y[:n_test]
    say(f"fastbp demo: {len(Xtr)} training / {n_test} test examples, {sizes[0]} features, "
        f"{n_classes} classes (synthetic noisy prototypes, seed {args.seed})")
    net = Network(sizes, hidden=args.hidden, output="softmax", dtype=args.dtype, seed=args.seed)
    say(repr(net))

    t0 = time.perf_counter()
    warm = net.copy()
    warm.fit(Xtr[:2], ytr[:2], epochs=1, lr=args.lr, batch_size=args.batch_size)
    say(f"kernels ready in {time.perf_counter() - t0:.2f} s (compiled on the first run, "
        f"loaded from numba's cache afterwards)")

    say(f"training: {args.epochs} epochs of SGD, lr {args.lr}, batch size {args.batch_size}; "
        f"the test split is the validation data")

    def report(_, e, h):
        say(f"  epoch {e:3d}  train loss {h.loss[-1]:.5f}  test loss {h.val_loss[-1]:.5f}  "
            f"test accuracy {h.val_accuracy[-1]:6.2%}  {h.samples_per_second[-1]:>12,.0f} "
            f"samples/s")

    hist = net.fit(Xtr, ytr, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                   validation_data=(Xte, yte), callback=report, progress=False)
    acc = float(np.mean(net.predict(Xte).argmax(axis=1) == yte))
    say(f"final test accuracy: {acc:.2%}  (test loss {net.loss(Xte, yte):.5f})")
    if args.plot:
        try:
            hist.plot(args.plot, title=f"fastbp demo: {'-'.join(map(str, sizes))}")
            say(f"learning curve written to {args.plot}")
        except ImportError:
            say("learning curve not written: matplotlib is not installed "
                "(pip install 'fastbp[plot]')")

    # speed, side by side on the same data and the same starting theta
    n_time = min(len(Xtr), args.baseline_samples)
    fast = Network(sizes, hidden=args.hidden, output="softmax", dtype=args.dtype, seed=args.seed)
    base = baseline.BaselineNetwork(sizes, hidden=args.hidden, output="softmax",
                                    dtype=args.dtype, seed=args.seed)
    reps = 5
    t_fast = min(baseline.time_epoch(fast, Xtr, ytr, args.lr, args.batch_size)
                 for _ in range(reps)) / len(Xtr)
    t_base = baseline.time_epoch(base, Xtr[:n_time], ytr[:n_time], args.lr,
                                 args.batch_size) / n_time
    say(f"speed ({args.dtype}, batch size {args.batch_size}, one core):")
    say(f"  fastbp          {1 / t_fast:>12,.0f} samples/s  ({t_fast * 1e6:8.2f} us/example, "
        f"best of {reps} epochs of {len(Xtr)})")
    say(f"  NumPy baseline  {1 / t_base:>12,.0f} samples/s  ({t_base * 1e6:8.2f} us/example, "
        f"one epoch of {n_time})")
    say(f"  fastbp is {t_base / t_fast:.1f}x the baseline")
    return 0


def bench(argv):
    """Run ``fastbp.bench`` in a child process whose BLAS/XLA pools have one thread (the
    thread counts are read when those libraries load, so they must be set before)."""
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    return subprocess.call([sys.executable, "-m", "fastbp.bench", *argv], env=env)


# ---------------------------------------------------------------------------- the user's data
class UsageError(Exception):
    """A mistake in the command line, the data or a model file: one line on stderr, status 2."""


SKLEARN_MISSING = 'this command needs scikit-learn: pip install "fastbp[sklearn]"'


def _estimators():
    """The module ``fastbp.sklearn`` (UsageError if scikit-learn is missing)."""
    try:
        from . import sklearn as estimators
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


def _layers(text):
    try:
        sizes = tuple(int(s) for s in text.split(",")) if text.strip() else ()
    except ValueError:
        sizes = None
    if sizes is None or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"--layers takes the hidden layer sizes as positive "
                                         f"integers separated by commas, such as 32,16 ('' for "
                                         f"none), got {text!r}")
    return sizes


def _number(kind, minimum=None, strict=False, below_one=False):
    """An argparse type: a finite int or float in range."""
    def convert(text):
        try:
            value = kind(text)
        except ValueError:
            value = None
        ok = value is not None and np.isfinite(value)
        if ok and minimum is not None:
            ok = value > minimum if strict else value >= minimum
        if ok and below_one:
            ok = value < 1
        if not ok:
            what = {int: "an integer", float: "a number"}[kind]
            limits = ("" if minimum is None else f" {'>' if strict else '>='} {minimum}") + \
                     (" and < 1" if below_one else "")
            raise argparse.ArgumentTypeError(f"must be {what}{limits}, got {text!r}")
        return value
    return convert


def _load_model(path):
    if not os.path.exists(path):
        raise UsageError(f"{path}: no such file")
    from . import load

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
    from .network import Network

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
    from . import _tabular

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


def _say(*parts):
    print(*parts, file=sys.stderr, flush=True)


def train(args):
    from . import _tabular

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
    from . import _tabular

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


def _describe_network(net):
    hidden = sorted(set(net.hidden))
    return (f"{'-'.join(map(str, net.sizes))} network (hidden {'/'.join(hidden) or 'none'}, "
            f"output {net.output}, loss {net.loss_name}, {np.dtype(net.dtype).name}, "
            f"{net.n_params} parameters)")


def info(args):
    from .network import Network
    from .population import Population

    model = _load_model(args.model)
    lines = [f"file: {args.model}", f"kind: {type(model).__name__}"]
    if isinstance(model, Population):
        lines.append(f"members: {len(model)}")
        lines.append(f"each member: {_describe_network(model.members[0])}")
    else:
        net = _network_of(model)
        if not isinstance(model, Network):
            if _is_classifier(model):
                classes = list(np.asarray(model.classes_).tolist())
                lines.append(f"task: classification, {len(classes)} classes: "
                             f"{', '.join(map(repr, classes[:20]))}"
                             f"{', ...' if len(classes) > 20 else ''}")
            else:
                lines.append("task: regression")
            names = _feature_names(model)
            lines.append(f"features: {_n_features(model)}"
                         + (f" ({', '.join(names)})" if names else ""))
            if getattr(model, "n_iter_", None) is not None:
                lines.append(f"epochs trained: {model.n_iter_}")
            curve = getattr(model, "loss_curve_", None)
            if curve:
                lines.append(f"final training loss: {curve[-1]:.6g}")
        lines.append(f"network: {_describe_network(net)}")
    print("\n".join(lines))
    return 0


def gradcheck(args):
    from . import _tabular
    from .gradcheck import gradcheck as check

    model = _load_model(args.model)
    net = _network_of(model)
    table = _read_for(model, args, need_target=True)
    X, y = table.X[:args.rows], table.y[:args.rows]
    Y = _network_targets(model, net, y, f"{args.data}: the target {table.target_name!r}")
    kinks = sorted(set(net.hidden) & KINKED)
    # a central difference across a kink (a pre-activation within about eps of 0) is not a
    # derivative: a smaller step makes crossing one unlikely, and float64 differences of the
    # fourth-order stencil still resolve it
    eps = args.eps if args.eps is not None else (1e-5 if kinks else 1e-3)
    err = check(net, X, Y, eps=eps, max_params=args.max_params)
    ok = err <= args.tol
    print(f"max relative error {err:.3g} between backpropagation and central differences "
          f"(eps {eps:g}; {min(net.n_params, args.max_params)} of {net.n_params} parameters, "
          f"{X.shape[0]} rows): {'OK' if ok else f'FAILED (above --tol {args.tol:g})'}")
    if not ok and kinks:
        print(f"{'/'.join(kinks)} is not differentiable at 0: a pre-activation within eps of 0 "
              f"spoils a central difference; try a smaller --eps or other rows")
    return 0 if ok else 1


#: hidden activations with a kink at 0 (relu's slope jumps; elu's second derivative does)
KINKED = {"relu", "leaky_relu", "elu"}


def _network_targets(model, net, y, name):
    from . import _tabular
    from .network import Network

    if _is_classifier(model):
        if np.asarray(model.classes_).dtype.kind in "biuf":
            _, y = _tabular.infer_task(y, "classification", name=name)
        else:
            y = y.astype(str)
        try:
            return model._targets(y)[0]  # the network's targets: one-hot, 0/1 or indicators
        except ValueError as exc:
            raise UsageError(f"{name}: {exc}") from None
    _, y = _tabular.infer_task(y, "regression", name=name)
    if not isinstance(model, Network):  # the regressor learns standardised targets
        return (y.reshape(len(y), -1) - model.y_mean_) / model.y_scale_
    _, y = _tabular.infer_task(y, "regression", name=name)
    if y.ndim == 1 and net.output == "softmax":
        return y.astype(np.int64)
    return y.reshape(len(y), -1)


COMMANDS = {"train": train, "predict": predict, "evaluate": evaluate, "info": info,
            "gradcheck": gradcheck}


def _parser():
    from . import __version__
    from ._tabular import MAX_CLASSES
    from .activations import HIDDEN
    from .options import OPTIMIZERS

    parser = argparse.ArgumentParser(
        prog="fastbp", description="fastbp: fast per-example SGD for small networks. Train, "
        "apply and inspect models on your own data (CSV with a header row, .npy or .npz).",
        epilog="Errors in the data, the options or a model file are reported in one line on "
               "stderr with exit status 2.")
    parser.add_argument("--version", action="version", version=f"fastbp {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data_help = ("CSV with a header row (numeric feature columns), .npy (a 2-D array) or .npz "
                 "(arrays X and y)")

    t = sub.add_parser("train", help="train a model on your data and save it",
                       description="Train a classifier or a regressor (fastbp.sklearn) on DATA "
                       "and save it to MODEL. The task is inferred from the target: strings, or "
                       f"at most {MAX_CLASSES} distinct integers, are classes; other numbers are "
                       "regressed. The output layer follows the task: softmax over the classes, "
                       "one sigmoid unit for two classes or per label of a 0/1 matrix "
                       "(multilabel), identity for regression (the targets standardised "
                       "inside). Options not given take the estimators' defaults. Progress "
                       "goes to stderr.")
    t.add_argument("data", metavar="DATA", help=data_help)
    t.add_argument("--target", metavar="COLUMN",
                   help="the target column: its name (CSV) or index (.npy; default: the last "
                        "column); not used for .npz")
    t.add_argument("--out", metavar="MODEL", required=True, help="the model file to write")
    t.add_argument("--task", choices=["classification", "regression"],
                   help="instead of inferring it from the target")
    t.add_argument("--layers", type=_layers, metavar="N,N,...",
                   help="hidden layer sizes, such as 32,16")
    t.add_argument("--hidden", metavar="ACT", choices=["logistic", *HIDDEN],
                   help="hidden activation: relu, tanh, logistic (= sigmoid), identity, "
                        "leaky_relu, elu, softplus")
    t.add_argument("--epochs", type=_number(int, 1), metavar="N",
                   help="most passes over the data (max_iter; fewer if the loss stops "
                        "improving by --tol for --patience epochs)")
    t.add_argument("--lr", type=_number(float, 0, strict=True), metavar="X", help="learning rate (learning_rate_init)")
    t.add_argument("--batch-size", type=_number(int, 1), metavar="B",
                   help="rows per step; 1 is per-example SGD")
    t.add_argument("--optimizer", choices=OPTIMIZERS, help="the solver")
    t.add_argument("--l2", type=_number(float, 0), metavar="X",
                   help="L2 penalty as fastbp's l2: each step adds X * W to the weights' "
                        "gradient (passed as alpha = X * batch size)")
    t.add_argument("--early-stopping", action="store_true",
                   help="hold out --validation-fraction of the rows and stop when their loss "
                        "stops improving, keeping the best epoch")
    t.add_argument("--validation-fraction", type=_number(float, 0, True, True), metavar="F",
                   help="share of the rows held out under --early-stopping")
    t.add_argument("--patience", type=_number(int, 1), metavar="N",
                   help="epochs without improvement before stopping (n_iter_no_change)")
    t.add_argument("--tol", type=_number(float, 0), metavar="X",
                   help="the improvement that counts")
    t.add_argument("--seed", type=int, metavar="S", help="random_state: the same seed, the same model")
    t.add_argument("--dtype", choices=["float64", "float32"])
    t.add_argument("--quiet", action="store_true", help="no progress lines")

    p = sub.add_parser("predict", help="write a model's predictions for DATA as CSV",
                       description="One CSV row of predictions per row of DATA, after a header "
                       "row. DATA's columns are matched by name when the model was trained on "
                       "a CSV file (other columns, such as the target, are ignored).")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("data", metavar="DATA", help=data_help)
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    p.add_argument("--proba", action="store_true",
                   help="class probabilities, one column per class (classifiers)")
    p.add_argument("--target", metavar="COLUMN",
                   help="a column of DATA to leave out (needed only for .npy data or models "
                        "trained without column names)")
    p.add_argument("--no-header", action="store_true", help="no header row")

    e = sub.add_parser("evaluate", help="print a model's accuracy or R^2 on DATA",
                       description="Accuracy (classifier) or R^2 (regressor) of MODEL on DATA.")
    e.add_argument("model", metavar="MODEL")
    e.add_argument("data", metavar="DATA", help=data_help)
    e.add_argument("--target", metavar="COLUMN",
                   help="the target column (name for CSV, index for .npy; not for .npz)")

    i = sub.add_parser("info", help="describe a model file",
                       description="The kind, task, classes, features and network of a model "
                       "file (an estimator, a Network or a Population).")
    i.add_argument("model", metavar="MODEL")

    g = sub.add_parser("gradcheck", help="check a model's gradient on DATA",
                       description="Compare backpropagation's gradient with central differences "
                       "at the model's parameters on the first rows of DATA (fastbp.gradcheck). "
                       "Exit status 1 if the error is above --tol.")
    g.add_argument("model", metavar="MODEL")
    g.add_argument("data", metavar="DATA", help=data_help)
    g.add_argument("--target", metavar="COLUMN", help="as for evaluate")
    g.add_argument("--rows", type=_number(int, 1), default=100, metavar="N",
                   help="rows of DATA used (default 100)")
    g.add_argument("--max-params", type=_number(int, 1), default=2000, metavar="N",
                   help="parameters checked, a seeded sample when there are more (default 2000)")
    g.add_argument("--eps", type=_number(float, 0, strict=True), metavar="X",
                   help="the finite-difference step (default 1e-3, or 1e-5 when a hidden "
                        "activation has a kink at 0: relu, leaky_relu, elu)")
    g.add_argument("--tol", type=_number(float, 0, strict=True), default=1e-4, metavar="X",
                   help="largest acceptable relative error (default 1e-4)")

    sub.add_parser("bench", add_help=False,
                   help="time fastbp against the NumPy baseline, JAX and PyTorch "
                        "(fastbp bench --help)")
    d = sub.add_parser("demo", help="train on built-in synthetic data; compare with the baseline")
    d.add_argument("--sizes", type=_sizes, default=[64, 32, 10],
                   help="layer sizes, input first (default 64,32,10)")
    d.add_argument("--hidden", default="sigmoid", help="hidden activation (default sigmoid)")
    d.add_argument("--epochs", type=int, default=10)
    d.add_argument("--lr", type=float, default=0.1)
    d.add_argument("--batch-size", type=int, default=1)
    d.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    d.add_argument("--n-samples", type=int, default=6000)
    d.add_argument("--baseline-samples", type=int, default=2000,
                   help="rows timed for the (slow) NumPy baseline (default 2000)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--plot", default="fastbp-demo-learning-curve.png",
                   help="PNG file for the learning curve ('' for none; needs matplotlib)")
    return parser


def _error(message):
    print(f"fastbp: error: {' '.join(str(message).split())}", file=sys.stderr, flush=True)
    return 2


def _warning(message, category, filename, lineno, file=None, line=None):
    print(f"fastbp: warning: {' '.join(str(message).split())}", file=sys.stderr, flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return bench(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        if len(args.sizes) < 2 or args.sizes[-1] < 2:
            parser.error(f"--sizes needs at least 2 layers and >= 2 output classes, "
                         f"got {args.sizes}")
        try:
            return demo(args)
        except (ValueError, TypeError) as exc:
            parser.error(str(exc))
    from ._tabular import DataError

    # the expected failures (the data, the options, a model file, a missing extra) are one
    # line and status 2; anything else is a bug and keeps its traceback
    with warnings.catch_warnings():
        warnings.showwarning = _warning
        # the command picks DATA's columns by the model's feature names itself and hands the
        # estimator a plain array, which scikit-learn would warn about
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        try:
            return COMMANDS[args.command](args)
        except (UsageError, DataError) as exc:
            return _error(exc)
        except ImportError as exc:
            if _is_sklearn_missing(exc):
                return _error(SKLEARN_MISSING)
            raise
        except KeyboardInterrupt:
            _error("interrupted")
            return 130
        except BrokenPipeError:
            # the reader of stdout went away (fastbp predict ... | head): not an error
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 0


if __name__ == "__main__":
    sys.exit(main())
