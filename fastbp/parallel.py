"""Training on every core: populations of networks and Hogwild.

- ``Population``: n independent networks of one architecture (an ensemble, a sweep over
  seeds or learning rates, one brain per agent) whose parameter vectors are the rows of one
  2-D array. ``fit`` trains all rows in parallel with numba's ``prange``; every member
  runs exactly the computation that ``Network.fit`` would run for it alone (same kernel,
  same initial theta, same shuffles), so each row is bit-identical to training that network
  by itself.
- ``hogwild_epoch`` (behind ``Network.fit(..., n_threads=k)``): k threads run per-example
  SGD on disjoint parts of an epoch, all updating the same theta without locks (Niu et al.,
  2011). Not bit-reproducible (the interleaving of updates varies from run to run), but it
  converges like serial SGD when updates are sparse or small.

Every kernel call of a ``Population`` or of Hogwild releases the GIL; so do all fastbp
kernels, so networks trained from several Python threads also run in parallel.
"""
import numpy as np
from numba import njit, prange

from . import _validation as v
from . import kernels
from ._jit import FASTMATH
from .layout import Workspace
from .network import Network
from .training import DivergenceError


def _pjit(func):
    return njit(cache=True, nogil=True, parallel=True, fastmath=set(FASTMATH),
                error_model="numpy")(func)


@_pjit
def population_epoch(thetas, spec, units, grads, batch_units, X, Y, orders, lrs, l2,
                     batch_size, totals):
    """One epoch for every row of ``thetas`` (k, P) in parallel; row r visits ``orders[r]``
    with learning rate ``lrs[r]``. ``units`` (k, 4, n_units) and ``grads`` (k, P) are one
    workspace per row, ``batch_units`` (k, 3, batch_size, n_units) one mini-batch scratch
    per row (the same kernels as ``Network.fit``). Writes each row's summed cost into
    ``totals[r]``."""
    for r in prange(thetas.shape[0]):
        u = units[r]
        ws = Workspace(u[0], u[1], u[2], grads[r], u, u[3])
        if batch_size > 1:
            totals[r] = kernels.epoch_batched(thetas[r], spec, ws, batch_units[r], X, Y,
                                              orders[r], lrs[r], l2, batch_size)
        else:
            totals[r] = kernels.epoch(thetas[r], spec, ws, X, Y, orders[r], lrs[r], l2, 1)


@_pjit
def hogwild_epoch(theta, spec, units, grads, X, Y, order, lr, l2, totals):
    """Per-example SGD over ``order`` split into len(totals) contiguous parts, one thread
    each, all updating ``theta`` in place without locks. ``units`` (k, 4, n_units) and
    ``grads`` (k, P) are one workspace per thread."""
    k = totals.shape[0]
    n = order.shape[0]
    for t in prange(k):
        lo = t * n // k
        hi = (t + 1) * n // k
        u = units[t]
        ws = Workspace(u[0], u[1], u[2], grads[t], u, u[3])
        totals[t] = kernels.epoch(theta, spec, ws, X, Y, order[lo:hi], lr, l2, 1)


def workspaces(layout, k, dtype):
    """k stacked workspaces: units (k, 4, n_units) and grads (k, P)."""
    return (np.zeros((k, 4, layout.n_units), dtype=dtype),
            np.zeros((k, layout.n_params), dtype=dtype))


class Population:
    """``n_members`` networks of one architecture, their thetas the rows of ``thetas``.

    Member r is ``Network(sizes, ..., seed=seeds[r])``; ``members[r]`` is that Network, its
    theta a view of row r (so ``members[r].predict`` etc. work and see training).
    """

    def __init__(self, sizes, n_members, hidden="sigmoid", output="sigmoid", loss=None,
                 init="glorot_uniform", dtype="float64", seeds=None):
        n_members = v.check_int("n_members", n_members)
        if seeds is None:
            seeds = list(range(n_members))
        seeds = list(seeds)
        if len(seeds) != n_members:
            raise ValueError(f"seeds lists {len(seeds)} seeds for {n_members} members")
        self.members = [Network(sizes, hidden=hidden, output=output, loss=loss, init=init,
                                dtype=dtype, seed=v.check_seed(f"seeds[{i}]", s))
                        for i, s in enumerate(seeds)]
        first = self.members[0]
        self.layout, self.spec, self.dtype = first.layout, first.spec, first.dtype
        self.thetas = np.stack([m.theta for m in self.members])
        for r, m in enumerate(self.members):
            m._theta = self.thetas[r]
            m.weights = m.layout.weights(m._theta)
            m.biases = m.layout.biases(m._theta)
        self._units, self._grads = workspaces(self.layout, n_members, self.dtype)

    def __len__(self):
        return len(self.members)

    def __repr__(self):
        return f"Population({len(self)} x {self.members[0]!r})"

    def predict(self, X):
        """(n_members, n_rows, n_outputs): every member's outputs."""
        return np.stack([m.predict(X) for m in self.members])

    def fit(self, X, Y, epochs=1, lr=0.1, batch_size=1, l2=0.0, shuffle=True, n_threads=None):
        """Train every member for ``epochs`` of SGD, members in parallel.

        lr: one learning rate or one per member. Each member shuffles with its own
        generator, exactly as its ``Network.fit`` would. Returns the (epochs, n_members)
        array of mean training losses. A member whose loss or parameters become non-finite
        is restored to its state before that epoch and reported by ``DivergenceError``.
        """
        epochs = v.check_int("epochs", epochs)
        batch_size = v.check_int("batch_size", batch_size)
        l2 = v.check_real("l2", l2, minimum=0.0)
        shuffle = v.check_bool("shuffle", shuffle)
        k = len(self)
        lrs = np.broadcast_to(np.asarray(lr, dtype=np.float64), (k,)) if np.ndim(lr) == 0 \
            else np.asarray(lr, dtype=np.float64)
        if lrs.shape != (k,):
            raise ValueError(f"lr must be one number or {k} (one per member), got shape "
                             f"{np.shape(lr)}")
        for i, r in enumerate(lrs):
            v.check_real(f"lr[{i}]", float(r), minimum=0.0, strict=True)
        lrs = lrs.astype(self.dtype)
        X, Y = self.members[0]._xy(X, Y)
        n = X.shape[0]
        _set_threads(n_threads)
        totals = np.zeros(k)
        losses = np.zeros((epochs, k))
        b = min(batch_size, n) if batch_size > 1 else 1
        batch_units = np.zeros((k, 3, b, self.layout.n_units), dtype=self.dtype)
        dt = self.dtype.type
        for e in range(epochs):
            orders = np.stack([m._rng.permutation(n) if shuffle else np.arange(n)
                               for m in self.members])
            backup = self.thetas.copy()
            population_epoch(self.thetas, self.spec, self._units, self._grads, batch_units, X,
                             Y, orders, lrs, dt(l2), batch_size, totals)
            mean = totals / n
            if l2:
                mean += np.array([0.5 * l2 * float(kernels._l2_term(t, self.spec))
                                  for t in self.thetas])
            bad = ~(np.isfinite(mean) & np.isfinite(self.thetas).all(axis=1))
            if bad.any():
                self.thetas[bad] = backup[bad]
                raise DivergenceError(
                    f"members {np.flatnonzero(bad).tolist()} diverged at epoch {e + 1} of "
                    f"{epochs}; their parameters were restored to their state before that "
                    f"epoch. Try a smaller lr for them or scale the inputs.", e + 1, losses[:e])
            losses[e] = mean
        return losses


def _set_threads(n_threads):
    import numba

    if n_threads is None:
        return numba.get_num_threads()
    n_threads = v.check_int("n_threads", n_threads)
    top = numba.config.NUMBA_NUM_THREADS
    if n_threads > top:
        raise ValueError(f"n_threads must be at most {top} (numba's thread pool), got "
                         f"{n_threads}")
    numba.set_num_threads(n_threads)
    return n_threads


def hogwild(net, X, Y, order, lr, l2, n_threads):
    """One Hogwild epoch of ``net`` over ``order`` with ``n_threads`` threads; returns the
    summed cost (validated inputs, as ``training.fit`` passes them)."""
    threads = _set_threads(n_threads)
    units, grads = net.__dict__.get("_hogwild_ws", (None, None))
    if units is None or units.shape[0] != threads:
        units, grads = workspaces(net.layout, threads, net.dtype)
        net._hogwild_ws = (units, grads)
    totals = np.zeros(threads)
    dt = net.dtype.type
    hogwild_epoch(net._theta, net.spec, units, grads, X, Y, order, dt(lr), dt(l2), totals)
    return float(totals.sum())
