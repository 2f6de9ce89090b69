"""The ``prange`` kernels: training on every core.

- ``population_epoch`` (behind ``Population.fit``): one epoch for each row of a 2-D array of
  parameter vectors, rows in parallel; each row runs exactly the kernel ``Network.fit``
  would run for it alone, so every row is bit-identical to training that network by itself.
- ``hogwild_epoch`` (behind ``Network.fit(..., n_threads=k)``): k threads run per-example
  SGD on disjoint parts of an epoch, all updating the same theta without locks (Niu et al.,
  2011). Not bit-reproducible (the interleaving of updates varies from run to run), but it
  converges like serial SGD when updates are sparse or small.

Both release the GIL, as every fastbp kernel does, so networks trained from several Python
threads also run in parallel. Kernel level: this module knows arrays, ``Spec`` and
``Workspace``, never a ``Network``.
"""
import numba
import numpy as np
from numba import prange

from . import kernels
from ._jit import pjit
from .layout import Workspace


@pjit
def population_epoch(thetas, spec, units, grads, X, Y, orders, lrs, l2, batch_size, totals):
    """One epoch for every row of ``thetas`` (k, P) in parallel; row r visits ``orders[r]``
    with learning rate ``lrs[r]``. ``units`` (k, 4, n_units) and ``grads`` (k, P) are one
    workspace per row (the same kernel as ``Network.fit``). Writes each row's summed cost into
    ``totals[r]``."""
    for r in prange(thetas.shape[0]):
        u = units[r]
        ws = Workspace(u[0], u[1], u[2], grads[r], u, u[3])
        totals[r] = kernels.epoch(thetas[r], spec, ws, X, Y, orders[r], lrs[r], l2, batch_size)


@pjit
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


def set_threads(n_threads):
    """Size numba's thread pool for the next ``prange`` kernel (``n_threads`` validated by
    ``fastbp.options``; None keeps the current size); returns the size."""
    if n_threads is None:
        return numba.get_num_threads()
    numba.set_num_threads(n_threads)
    return n_threads
