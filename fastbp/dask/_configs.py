"""Sweep configurations: the grid, their checks (before anything is submitted) and their
grouping into tasks. No dask here."""
import itertools

import numpy as np

from .. import _validation as v
from .. import options

#: keys of the Network constructor (one Population per distinct set of them)
ARCHITECTURE = ("sizes", "hidden", "output", "loss", "init", "dtype")
#: fit options shared by a Population's members (Population.fit takes one of each)
SHARED = ("epochs", "l2", "batch_size", "shuffle")
#: keys that vary inside one Population
PER_MEMBER = ("lr", "seed")
KEYS = ARCHITECTURE + SHARED + PER_MEMBER
DEFAULTS = {"hidden": "sigmoid", "output": "sigmoid", "loss": None, "init": "glorot_uniform",
            "dtype": "float64", "epochs": 1, "l2": 0.0, "batch_size": 1, "shuffle": True,
            "lr": options.DEFAULTS["lr"], "seed": 0}


def grid(**axes):
    """The Cartesian product of ``axes`` as a list of config dicts, last axis fastest:
    ``grid(sizes=[[64, 32, 10]], lr=[0.01, 0.1], seed=range(4))`` gives 8 dicts. A value
    that is not a list, tuple or range is one fixed value (``output="softmax"``); sizes and
    a per-layer ``hidden`` are given as a list of choices (``sizes=[[64, 32, 10]]``)."""
    names, choices = [], []
    for name, values in axes.items():
        if name not in KEYS:
            raise ValueError(f"grid got an unknown key {name!r}; the keys are {list(KEYS)}")
        if not isinstance(values, (list, tuple, range)):
            values = [values]
        if len(values) == 0:
            raise ValueError(f"grid's axis {name!r} is empty; give it at least one value")
        names.append(name)
        choices.append(list(values))
    return [dict(zip(names, combo)) for combo in itertools.product(*choices)]


def _one(i, config, common):
    """Config ``i`` completed with ``common`` and the defaults, checked and normalised
    (sizes and hidden as tuples: hashable keys of its group)."""
    if not isinstance(config, dict):
        raise TypeError(f"configs[{i}] must be a dict, got {type(config).__name__}")
    unknown = sorted(set(config) - set(KEYS))
    if unknown:
        raise ValueError(f"configs[{i}] has unknown key(s) {unknown}; the keys are {list(KEYS)}")
    c = {**DEFAULTS, **common, **config}
    if "sizes" not in c:
        raise ValueError(f"configs[{i}] has no 'sizes'; give it in the config or to sweep")
    if c["seed"] is None or isinstance(c["seed"], np.random.Generator):
        raise ValueError(f"configs[{i}]['seed'] = {c['seed']!r}: a sweep needs an integer seed "
                         f"(its member is rebuilt from it)")
    try:
        sizes, hidden, output, loss, init, dtype, seed = v.check_architecture(
            c["sizes"], c["hidden"], c["output"], c["loss"], c["init"], c["dtype"], c["seed"])
        checked = {k: options.check(k, c[k], f"configs[{i}][{k!r}]", dtype)
                   for k in ("epochs", "l2", "batch_size", "shuffle", "lr")}
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"configs[{i}]: {exc}") from None
    return {"sizes": tuple(sizes), "hidden": hidden, "output": output, "loss": loss,
            "init": init, "dtype": dtype.name, "seed": int(seed), **checked}


def normalise(configs, common):
    """Every config checked (ValueError/TypeError naming its index) and completed."""
    unknown = sorted(set(common) - set(KEYS))
    if unknown:
        raise TypeError(f"sweep got unknown keyword(s) {unknown}; the config keys are "
                        f"{list(KEYS)}")
    if isinstance(configs, dict):
        raise TypeError("configs must be a list of dicts (e.g. from fastbp.dask.grid), got one "
                        "dict; wrap it in a list")
    configs = list(configs)
    if not configs:
        raise ValueError("configs is empty; give at least one configuration")
    return [_one(i, c, common) for i, c in enumerate(configs)]


def group_key(c):
    return tuple(c[k] for k in ARCHITECTURE + SHARED)


def blocks(configs, members_per_task):
    """The tasks: lists of config indices, each of one group (architecture and shared
    options), in config order, at most ``members_per_task`` long."""
    groups = {}
    for i, c in enumerate(configs):
        groups.setdefault(group_key(c), []).append(i)
    return [idx[s:s + members_per_task] for idx in groups.values()
            for s in range(0, len(idx), members_per_task)]
