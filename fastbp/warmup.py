"""``warmup``: compile (or load from numba's cache) the kernels a fit will use, ahead of it.

A fresh process pays numba's compile (seconds to a minute, cold cache) or cache load (well
under a second, warm) at its first fit on each path. A server, a Dask worker
(``fastbp.dask.WarmupPlugin``) or a benchmark pays it up front instead by running tiny
fits of every path on tiny data of each dtype: the kernels dispatch on the dtype and the
path only (sizes, activations and losses are run-time data in the spec), so the real fit
that follows hits the same specialisations and compiles nothing.
"""
import time

import numpy as np

#: dtypes ``warmup`` knows (theta's dtype picks the specialisation)
DTYPES = ("float64", "float32")


def _net(dtype):
    """A tiny classifier; its sizes do not matter (run-time data), its dtype does."""
    from .network import Network
    return Network([3, 4, 2], output="softmax", dtype=dtype, seed=0)


def _data(dtype):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(9, 3)).astype(dtype)  # 9 rows: mini-batches of 4 leave a remainder
    return X, np.arange(9) % 2


def _fits(dtype, **options):
    """One tiny fit with and without l2: decay (l2 != 0) is a compile-time constant of the
    per-example paths, and the loss with l2 adds ``l2_term``."""
    X, y = _data(dtype)
    for l2 in (0.0, 1e-4):
        _net(dtype).fit(X, y, epochs=1, lr=0.01, l2=l2, **options)


def _sgd(dtype):
    _fits(dtype)  # per example, plain SGD
    # a one-example partial_fit with a list x: the packed-list cast kernel (the one-row
    # predict's kernels are the "predict" path's)
    X, y = _data(dtype)
    _net(dtype).partial_fit(X[0].tolist(), int(y[0]), lr=0.01)


def _minibatch(dtype):
    # plain SGD's and the stateful optimisers' passes, each with and without dropout (a
    # constant of the mini-batch passes); momentum, nesterov and adam share a pass
    for options in ({}, {"dropout": 0.5}, {"optimizer": "adam"},
                    {"optimizer": "adam", "dropout": 0.5}):
        _fits(dtype, batch_size=4, **options)


def _optimizers(dtype):
    # one pass for every stateful optimiser per example, and one with dropout
    _fits(dtype, optimizer="adam")
    _fits(dtype, optimizer="adam", dropout=0.5)


def _dropout(dtype):
    _fits(dtype, dropout=0.5)


def _population(dtype):
    from .population import Population
    X, y = _data(dtype)
    for l2 in (0.0, 1e-4):
        Population([3, 4, 2], 2, output="softmax", dtype=dtype).fit(X, y, lr=0.01, l2=l2,
                                                                     n_threads=1)


def _predict(dtype):
    X, y = _data(dtype)
    net = _net(dtype)
    net.predict(X)
    net.predict(X[0])
    net.predict(X[0].tolist())  # a list is packed into the workspace: its own kernel
    net.loss(X, y)
    net.loss(X, y, l2=1e-4)  # also the kernel of fit's validation loss (no fit here: a
    # fit would compile the sgd path too, which a sweep's workers do not need)


PATHS = {"sgd": _sgd, "minibatch": _minibatch, "optimizers": _optimizers,
         "dropout": _dropout, "population": _population, "predict": _predict}


def _names(name, given, known, normalise=lambda g: g):
    """``given`` as a tuple of known names (one name accepted), checked before any work."""
    if isinstance(given, (str, type, np.dtype)):
        given = (given,)
    try:
        given = tuple(given)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of names out of {list(known)}, got "
                        f"{given!r}") from None
    out = []
    for g in given:
        try:
            g = normalise(g)
        except TypeError:
            pass
        if not isinstance(g, str) or g not in known:
            raise ValueError(f"{name} has {g!r}, not one of {list(known)}; pass e.g. "
                             f"{name}={tuple(known[:2])!r}")
        out.append(g)
    return tuple(out)


def _dtype_name(value):
    return np.dtype(value).name  # 'f8', np.float64 -> 'float64'; TypeError: kept, rejected


def warmup(dtypes=("float64",), paths=tuple(PATHS)):
    """Compile (or load from numba's on-disk cache) the kernels of the fit ``paths`` for
    each of ``dtypes``, by running tiny fits; returns ``{(dtype, path): seconds}``.

    paths: ``sgd`` (per example), ``minibatch`` (batch_size > 1, any optimiser or dropout),
    ``optimizers`` (momentum/nesterov/adam... per example, with and without dropout),
    ``dropout`` (plain SGD per example),
    ``population`` (``Population.fit``), ``predict`` (``predict``, ``loss``: also the
    validation loss inside ``fit``). Each path is covered with and without l2. Hogwild
    (``Network.fit`` with ``n_threads``) is not covered. A second call in the same process
    takes milliseconds: everything is compiled already.
    """
    dtypes = _names("dtypes", dtypes, DTYPES, _dtype_name)
    paths = _names("paths", paths, tuple(PATHS))
    seconds = {}
    for dtype in dtypes:
        for path in paths:
            t0 = time.perf_counter()
            PATHS[path](dtype)
            seconds[dtype, path] = time.perf_counter() - t0
    return seconds
