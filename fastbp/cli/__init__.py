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
import os
import sys
import warnings

from ._common import SKLEARN_MISSING, UsageError, _is_sklearn_missing
from ._demo import SINGLE_THREAD_ENV, bench, demo
from ._inspect import KINKED, gradcheck, info
from ._model import ESTIMATOR_PARAMS, evaluate, predict, train
from ._arguments import _parser

__all__ = ["COMMANDS", "ESTIMATOR_PARAMS", "KINKED", "SINGLE_THREAD_ENV", "SKLEARN_MISSING",
           "UsageError", "bench", "demo", "evaluate", "gradcheck", "info", "main", "predict",
           "train"]


COMMANDS = {"train": train, "predict": predict, "evaluate": evaluate, "info": info,
            "gradcheck": gradcheck}


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
    from .._tabular import DataError

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
