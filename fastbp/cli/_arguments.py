"""The command line: every command's options, checked by argparse."""
import argparse

import numpy as np


def _sizes(text):
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers such as "
                                         f"64,32,10, got {text!r}") from None
    return sizes


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


def _parser():
    from .. import __version__
    from .._tabular import MAX_CLASSES
    from ..activations import HIDDEN
    from ..options import OPTIMIZERS

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
