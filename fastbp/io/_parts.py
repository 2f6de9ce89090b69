"""Networks and Populations as ``(meta, arrays)`` parts, and back, with their histories."""
import numpy as np

from .. import _validation as v
from ..layout import Layout
from ..training import History
from ._format import _dict, _short
from ._generator import generator_from_json, generator_to_json

#: the classes the parts rebuild, by kind. fastbp.network and fastbp.population register
#: themselves when imported (``register``): io sits below them in the data flow (their
#: ``save`` / ``load`` use it), so it must not import them.
CLASSES = {}


def register(kind, cls):
    """Make ``cls`` the class that model files of ``kind`` ("Network", "Population") build."""
    CLASSES[kind] = cls


# ---------------------------------------------------------------------------- Network
_ARCH_KEYS = ("sizes", "hidden", "output", "loss", "init", "dtype")
_NET_KEYS = set(_ARCH_KEYS) | {"generator", "history"}
_HISTORY_FLAGS = {"best_epoch", "stopped_early", "interrupted"}


def network_parts(net, generator=True, history=True, prefix=""):
    """``(meta, arrays)`` describing ``net``: theta (``arrays[prefix + "theta"]``), the layout,
    activation and loss names, init and dtype; with ``generator`` the state of its random
    generator (so that ``fit`` after loading shuffles as the original would); with
    ``history`` its ``history_`` (if any). ``network_from_parts`` rebuilds it."""
    theta = net.theta
    bad = ~np.isfinite(theta)
    if bad.any():
        raise ValueError(f"theta holds {int(bad.sum())} non-finite value(s) (the first at "
                         f"index {int(np.argmax(bad))}); a model file holds finite "
                         f"parameters only")
    meta = _arch_meta(net)
    meta["generator"] = generator_to_json(net._rng) if generator else None
    arrays = {prefix + "theta": theta.copy()}
    meta["history"] = None
    if history and net.history_ is not None:
        meta["history"], hist_arrays = _history_parts(net.history_, prefix)
        arrays.update(hist_arrays)
    return meta, arrays


def network_from_parts(meta, arrays, prefix=""):
    """The ``Network`` that ``network_parts`` described (ValueError/TypeError if the parts
    are not a valid network). Without a stored generator state the network gets a fresh,
    unseeded generator."""
    meta = _dict("meta", meta, _NET_KEYS)
    theta = _get(arrays, prefix + "theta")
    return _network(meta, theta, meta["generator"], meta["history"], arrays, prefix)


def _load_network(meta, arrays):
    net = network_from_parts(meta, arrays)
    _no_extra(arrays, ["theta"] + _history_names(meta["history"], ""))
    return net


def _arch_meta(net):
    return {"sizes": list(net.sizes), "hidden": list(net.hidden), "output": net.output,
            "loss": net.loss_name, "init": net.init, "dtype": net.dtype.name}


def _network(arch, theta, generator, history, arrays, prefix):
    """A Network from validated-here architecture names, a theta array (used as is: the
    caller passes a fresh array or a row of a Population's thetas), generator state and
    history."""
    for key in _ARCH_KEYS:
        if key not in arch:
            raise KeyError(f"meta lacks {key!r}")
    if not isinstance(arch["dtype"], str) or arch["dtype"] not in v.DTYPES:
        raise ValueError(f"dtype must be one of {sorted(v.DTYPES)}, got {_short(arch['dtype'])}")
    if isinstance(arch["hidden"], list):
        hidden_arg = arch["hidden"]
    elif isinstance(arch["hidden"], str):
        hidden_arg = arch["hidden"]
    else:
        raise TypeError(f"hidden must be a name or a list of names, got {_short(arch['hidden'])}")
    for key in ("output", "loss", "init"):
        if not isinstance(arch[key], str):
            raise TypeError(f"{key} must be a name, got {_short(arch[key])}")
    sizes, hidden, output, loss, init, dtype, _ = v.check_architecture(
        arch["sizes"], hidden_arg, arch["output"], arch["loss"], arch["init"], arch["dtype"],
        None)
    layout = Layout(sizes, hidden + (output,), loss)  # no allocation proportional to sizes
    if not isinstance(theta, np.ndarray) or theta.ndim != 1:
        raise ValueError("theta is not a 1-D array")
    if theta.dtype != dtype:
        raise ValueError(f"theta is {theta.dtype}, the network's dtype is {dtype}")
    if theta.shape[0] != layout.n_params:
        raise ValueError(f"theta holds {theta.shape[0]} values but sizes {list(sizes)} need "
                         f"{layout.n_params}")
    bad = ~np.isfinite(theta)
    if bad.any():
        raise ValueError(f"theta holds {int(bad.sum())} non-finite value(s)")
    rng = generator_from_json(generator) if generator is not None else np.random.default_rng()
    cls = CLASSES["Network"]
    net = cls.__new__(cls)
    net.__setstate__({"hidden": hidden, "output": output, "loss_name": loss, "init": init,
                      "dtype": dtype, "layout": layout, "_theta": theta, "_rng": rng,
                      "history_": _history_from(history, arrays, prefix)})
    return net


def _get(arrays, name):
    if name not in arrays:
        raise KeyError(f"no array {name!r}")
    return arrays[name]


def _no_extra(arrays, names):
    extra = sorted(set(arrays) - set(names))
    if extra:
        raise ValueError(f"unexpected arrays {extra}")


# ---------------------------------------------------------------------------- history
def _history_parts(history, prefix):
    meta = {"best_epoch": history.best_epoch, "stopped_early": bool(history.stopped_early),
            "interrupted": bool(history.interrupted)}
    if meta["best_epoch"] is not None:
        meta["best_epoch"] = int(meta["best_epoch"])
    arrays = {}
    for key in History.KEYS:
        values = getattr(history, key)
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"history_.{key} is not a list of numbers ({exc}); save with "
                             f"history=False") from None
        if arr.ndim != 1:
            raise ValueError(f"history_.{key} is not a list of numbers (shape {arr.shape}); "
                             f"save with history=False")
        arrays[f"{prefix}history.{key}"] = arr
    return meta, arrays


def _history_names(history_meta, prefix):
    return [] if history_meta is None else [f"{prefix}history.{k}" for k in History.KEYS]


def _history_from(meta, arrays, prefix):
    if meta is None:
        return None
    meta = _dict("history", meta, _HISTORY_FLAGS)
    best = meta["best_epoch"]
    if best is not None and (type(best) is not int or best < 1):
        raise ValueError(f"history best_epoch must be None or a positive int, got {_short(best)}")
    for flag in ("stopped_early", "interrupted"):
        if type(meta[flag]) is not bool:
            raise TypeError(f"history {flag} must be true or false")
    history = History()
    history.best_epoch = best
    history.stopped_early, history.interrupted = meta["stopped_early"], meta["interrupted"]
    for key in History.KEYS:
        arr = _get(arrays, f"{prefix}history.{key}")
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != np.float64:
            raise ValueError(f"history.{key} is not a 1-D float64 array")
        setattr(history, key, [float(x) for x in arr])
    return history


# ---------------------------------------------------------------------------- Population
def population_parts(pop, generator=True, history=True):
    """``(meta, arrays)`` describing a Population: the architecture, ``thetas`` and, per
    member, its generator state and history (as ``network_parts``)."""
    bad = ~np.isfinite(pop.thetas)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1)).tolist()
        raise ValueError(f"thetas of members {rows} hold non-finite values; a model file "
                         f"holds finite parameters only")
    members, arrays = [], {"thetas": pop.thetas.copy()}
    for r, m in enumerate(pop.members):
        entry = {"generator": generator_to_json(m._rng) if generator else None, "history": None}
        if history and m.history_ is not None:
            entry["history"], hist = _history_parts(m.history_, f"members.{r}.")
            arrays.update(hist)
        members.append(entry)
    return {"network": _arch_meta(pop.members[0]), "members": members}, arrays


def population_from_parts(meta, arrays):
    """The Population that ``population_parts`` described."""
    meta = _dict("meta", meta, {"network", "members"})
    arch = _dict("meta['network']", meta["network"], set(_ARCH_KEYS))
    members = meta["members"]
    if not isinstance(members, list) or not members:
        raise ValueError("members must be a non-empty list")
    thetas = _get(arrays, "thetas")
    if not isinstance(thetas, np.ndarray) or thetas.ndim != 2 \
            or thetas.shape[0] != len(members):
        raise ValueError(f"thetas must be a 2-D array with one row per member "
                         f"({len(members)}), got shape {getattr(thetas, 'shape', None)}")
    thetas = np.ascontiguousarray(thetas)
    nets, names = [], ["thetas"]
    for r, entry in enumerate(members):
        entry = _dict(f"members[{r}]", entry, {"generator", "history"})
        nets.append(_network(arch, thetas[r], entry["generator"], entry["history"], arrays,
                             f"members.{r}."))
        names += _history_names(entry["history"], f"members.{r}.")
    _no_extra(arrays, names)
    cls = CLASSES["Population"]
    pop = cls.__new__(cls)
    pop.members, pop.dtype, pop.thetas = nets, nets[0].dtype, thetas
    pop._attach()
    return pop
