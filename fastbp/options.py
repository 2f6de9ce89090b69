"""The training options, declared once: name, default, check and a one-line doc each.

``Network.fit`` takes every option, ``Population.fit``, ``Network.partial_fit`` and the
baseline's ``fit`` a subset; all of them validate through ``validate``, which checks the
options in the order of the table and returns a frozen ``FitOptions``. Each check raises
TypeError (wrong kind of thing) or ValueError (right kind, wrong value) with a message
naming the option, the value and what is allowed (``fastbp._validation``). ``takes`` gives a
face its signature and the options part of its docstring from the table.

Schedules (lr for epoch e = 1, 2, ...), ``schedule_lr``:
- constant:    lr
- invscaling:  lr / e^power_t
- step:        lr * decay^floor((e - 1) / step_size)
- exponential: lr * decay^(e - 1)
- adaptive:    lr, divided by 5 each time ``adaptive_patience`` consecutive epochs fail to
               lower the monitored loss by at least ``tol`` (scikit-learn's "adaptive"; the
               training loop applies it)
"""
import dataclasses
import functools
import inspect
import sys
import textwrap
from typing import Callable, NamedTuple

import numba
import numpy as np

from . import _validation as v

SCHEDULES = ("constant", "invscaling", "step", "exponential", "adaptive")
#: the names of ``fastbp.optim.CODES`` (declared here so that the baseline needs no kernels)
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adam")


class Option(NamedTuple):
    name: str
    default: object
    check: Callable  # check(name, value, ctx) -> the validated value (ctx: see ``validate``)
    doc: str


# ---------------------------------------------------------------------------- checks
def _count(name, value, ctx):
    return v.check_int(name, value)


def _positive(name, value, ctx):
    return v.check_real(name, value, minimum=0.0, strict=True)


def _nonnegative(name, value, ctx):
    return v.check_real(name, value, minimum=0.0)


def _flag(name, value, ctx):
    return v.check_bool(name, value)


def _seed(name, value, ctx):
    return v.check_seed(name, value)


def _one_of(choices):
    return lambda name, value, ctx: v.check_choice(name, value, choices)


def _unit_interval(low, high):
    """A real in the interval from 0 to 1 written ``low``0, 1``high`` ("[" or "(", "]" or ")")."""
    def check(name, value, ctx):
        value = v.check_real(name, value, minimum=0.0, strict=low == "(")
        if value > 1 or (value == 1 and high == ")"):
            raise ValueError(f"{name} must be in {low}0, 1{high}, got {value}")
        return value
    return check


def _validation_data(name, value, ctx):
    if value is not None and (not isinstance(value, (tuple, list)) or len(value) != 2):
        raise TypeError("validation_data must be a pair (X_val, Y_val)")
    return value


def _validation_fraction(name, value, ctx):
    if value is None:
        return None
    if ctx["validation_data"] is not None:
        raise ValueError("give either validation_data or validation_fraction, not both")
    return _unit_interval("(", ")")(name, value, ctx)


def _progress(name, value, ctx):
    if value is None:
        value = bool(getattr(sys.stderr, "isatty", lambda: False)())
    return v.check_bool(name, value)


def _callback(name, value, ctx):
    if value is not None and not callable(value):
        raise TypeError(f"callback must be callable (net, epoch, history) -> bool, got "
                        f"{value!r}")
    return value


def _dropout(name, value, ctx):
    """Drop rates, a tuple with one per hidden layer, from None, one rate or one per layer."""
    n_hidden = ctx["n_hidden"]
    if value is None:
        return (0.0,) * n_hidden
    if np.ndim(value) == 0:
        rates = [value] * n_hidden
    else:
        rates = list(value)
        if len(rates) != n_hidden:
            raise ValueError(f"dropout lists {len(rates)} rates but the network has {n_hidden} "
                             f"hidden layer(s); give one rate or one per hidden layer")
    out = []
    for i, r in enumerate(rates):
        r = v.check_real(f"dropout[{i}]" if np.ndim(value) else "dropout", r, minimum=0.0)
        if r >= 1:
            raise ValueError(f"dropout rates must be in [0, 1), got {r}")
        out.append(r)
    return tuple(out)


def _threads(name, value, ctx):
    if value is None:
        return None
    value = v.check_int(name, value)
    top = numba.config.NUMBA_NUM_THREADS
    if value > top:
        raise ValueError(f"n_threads must be at most {top} (numba's thread pool), got {value}")
    return value


# ---------------------------------------------------------------------------- the table
OPTIONS = (
    Option("epochs", 1, _count, "passes over (X, Y)"),
    Option("lr", 0.1, _positive, "the learning rate (of the first epoch, under a schedule)"),
    Option("batch_size", 1, _count,
           "1 is per-example SGD; b > 1 steps with the mean gradient of b examples (the last "
           "batch of an epoch may be smaller)"),
    Option("l2", 0.0, _nonnegative,
           "each step adds l2 * W to the weights' gradient (not to the biases')"),
    Option("shuffle", True, _flag, "visit the rows in a new random order every epoch"),
    Option("seed", None, _seed,
           "seeds the shuffles, the validation split and the dropout masks (None: the "
           "network's own generator)"),
    Option("optimizer", "sgd", _one_of(OPTIMIZERS),
           '"sgd", "momentum" (momentum), "nesterov" (momentum) or "adam" (beta1, beta2, '
           "epsilon); scikit-learn's update rules; the state starts at zero in every fit"),
    Option("momentum", 0.9, _unit_interval("[", ")"), "of momentum and nesterov"),
    Option("beta1", 0.9, _unit_interval("[", ")"), "Adam's decay of the first moment"),
    Option("beta2", 0.999, _unit_interval("[", ")"), "Adam's decay of the second moment"),
    Option("epsilon", 1e-8, _positive, "Adam's guard against division by zero"),
    Option("schedule", "constant", _one_of(SCHEDULES),
           'the learning rate per epoch: "constant", "invscaling" (lr / epoch^power_t), "step" '
           '(times decay every step_size epochs), "exponential" (times decay every epoch) or '
           '"adaptive" (divided by 5 whenever adaptive_patience epochs in a row fail to lower '
           "the monitored loss by tol; the monitored loss is the validation loss when there is "
           "validation data, else the training loss)"),
    Option("power_t", 0.5, _nonnegative, "the exponent of invscaling"),
    Option("decay", 0.1, _unit_interval("(", "]"), "the factor of step and exponential"),
    Option("step_size", 10, _count, "epochs per step of the step schedule"),
    Option("tol", 1e-4, _nonnegative, "the improvement adaptive asks for"),
    Option("adaptive_patience", 2, _count, "epochs without improvement before adaptive acts"),
    Option("validation_data", None, _validation_data,
           "(X_val, Y_val): the validation loss and accuracy are recorded every epoch"),
    Option("validation_fraction", None, _validation_fraction,
           "instead of validation_data: the share of X held out for validation (after a "
           "seeded shuffle)"),
    Option("early_stopping", False, _flag,
           "stop when the validation loss has not improved by more than min_delta for "
           "patience epochs and restore the best epoch's parameters (validation_fraction "
           "defaults to 0.1 when no validation data is given)"),
    Option("patience", 10, _count, "of early stopping"),
    Option("min_delta", 0.0, _nonnegative, "of early stopping"),
    Option("progress", None, _progress,
           "one line per epoch on stderr (None: only when stderr is a terminal)"),
    Option("callback", None, _callback,
           "callback(net, epoch, history) after each epoch; returning True stops training"),
    Option("chunk_size", 65536, _count,
           "rows per kernel call; Ctrl-C is honoured between calls, leaving the model at the "
           "last completed chunk with history_ (and the exception's history) holding the "
           "completed epochs"),
    Option("dropout", None, _dropout,
           "inverted dropout on the hidden layers during training: one drop rate for all of "
           "them or one per hidden layer (0 = off); off at prediction. Masks come from a "
           "counter-based generator seeded from seed, so runs are reproducible"),
    Option("n_threads", None, _threads,
           "k > 1 runs Hogwild: k threads do per-example SGD on parts of each epoch, updating "
           "theta without locks (plain SGD only; not bit-reproducible, since the interleaving "
           "of updates varies from run to run)"),
)
#: the real options the kernels read as scalars of theta's dtype, and what must survive that
#: cast beyond finiteness (``_validation.check_in_dtype``); the others stay Python floats
IN_DTYPE = {"lr": {"positive": True}, "l2": {}, "epsilon": {"positive": True},
            "momentum": {"below_one": True}, "beta1": {"below_one": True},
            "beta2": {"below_one": True}}
BY_NAME = {o.name: o for o in OPTIONS}
NAMES = tuple(BY_NAME)
DEFAULTS = {o.name: o.default for o in OPTIONS}

#: Every option, validated (``dropout`` as a tuple of rates, one per hidden layer; ``progress``
#: resolved; ``validation_fraction`` 0.1 under early stopping without validation data).
FitOptions = dataclasses.make_dataclass(
    "FitOptions", [(o.name, object, dataclasses.field(default=o.default)) for o in OPTIONS],
    frozen=True, namespace={"__module__": __name__})


def validate(n_hidden, *, dtype=None, **given):
    """The ``FitOptions`` of the options ``given`` (the others take their defaults), each
    checked in the order of the table before anything else happens.

    A check sees ``ctx``: ``n_hidden`` (hidden layers of the network) and the options
    checked before it. With ``dtype`` (theta's), the real options the kernels read in that
    dtype are checked as they will be read (``IN_DTYPE``; dropout rates stay below 1).
    """
    if not given.keys() <= BY_NAME.keys():
        raise TypeError(f"unknown training option(s) {sorted(set(given) - set(BY_NAME))}; "
                        f"the options are {list(NAMES)}")
    ctx = {"n_hidden": n_hidden}
    for name, default, rule, _ in OPTIONS:
        ctx[name] = _in_dtype(name, rule(name, given.get(name, default), ctx), dtype)
    del ctx["n_hidden"]
    if ctx["early_stopping"] and ctx["validation_data"] is None \
            and ctx["validation_fraction"] is None:
        ctx["validation_fraction"] = 0.1
    return FitOptions(**ctx)


def _in_dtype(name, value, dtype, label=None):
    """``value`` of option ``name`` (validated), checked as the kernels read it in ``dtype``."""
    if dtype is None:
        return value
    if name in IN_DTYPE:
        v.check_in_dtype(label or name, value, dtype, **IN_DTYPE[name])
    elif name == "dropout":
        for i, rate in enumerate(value):
            v.check_in_dtype(f"dropout[{i}]", rate, dtype, below_one=True)
    return value


def check(name, value, label=None, dtype=None):
    """One option's own check (no other options involved), naming it ``label`` in errors;
    with ``dtype``, also as the kernels read it in that dtype."""
    return _in_dtype(name, BY_NAME[name].check(label or name, value, {}), dtype, label)


def schedule_lr(opts, epoch):
    """The learning rate of ``epoch`` (1-based) for the non-adaptive schedules."""
    if opts.schedule == "invscaling":
        return opts.lr / epoch ** opts.power_t
    if opts.schedule == "step":
        return opts.lr * opts.decay ** ((epoch - 1) // opts.step_size)
    if opts.schedule == "exponential":
        return opts.lr * opts.decay ** (epoch - 1)
    return opts.lr  # constant; adaptive starts constant


def takes(names, docs=None):
    """Decorator for a face ``f(self, X, Y, **given)``: its signature becomes ``(self, X, Y,
    <names, with their defaults from the table>)``, bound as Python binds arguments (by
    position or keyword; TypeError for unknown ones), and ``f`` receives every listed option
    by keyword. Its docstring gets an "Options" section from the table's docs (``docs``
    overrides some for this face)."""
    docs = dict(docs or {})
    defaults = {n: DEFAULTS[n] for n in names}
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    sig = inspect.Signature([inspect.Parameter(p, keyword) for p in ("self", "X", "Y")]
                            + [inspect.Parameter(n, keyword, default=d)
                               for n, d in defaults.items()])
    lines = [textwrap.fill(f"{n}={d!r}: {docs.get(n, BY_NAME[n].doc)}", 92,
                           subsequent_indent="    ", break_on_hyphens=False)
             for n, d in defaults.items()]

    def decorate(face):
        @functools.wraps(face)
        def bound(*args, **kwargs):
            if len(args) == 3 and kwargs.keys() <= defaults.keys():
                return face(*args, **{**defaults, **kwargs})  # the usual call, bound quickly
            call = sig.bind(*args, **kwargs)
            call.apply_defaults()
            given = dict(call.arguments)
            return face(given.pop("self"), given.pop("X"), given.pop("Y"), **given)

        bound.__signature__ = sig
        bound.__doc__ = (inspect.cleandoc(face.__doc__ or "") + "\n\nOptions\n-------\n"
                         + "\n".join(lines))
        return bound

    return decorate
