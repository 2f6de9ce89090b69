"""The ``prange`` kernels: training on every core from a user's own compiled code.

- ``population_epoch``: one epoch for each row of a 2-D array of parameter vectors, rows in
  parallel; each row runs exactly the kernel ``Network.fit`` would run for it alone, so
  every row is bit-identical to training that network by itself (``Population.fit``
  computes the same on Python threads).
- ``hogwild_epoch``: k threads run per-example SGD on disjoint parts of an epoch, all
  updating the same theta without locks (Niu et al., 2011). Not bit-reproducible (the
  interleaving of updates varies from run to run), but it converges like serial SGD when
  updates are sparse or small (``Network.fit(..., n_threads=k)`` does the same on Python
  threads, ``training.hogwild``).

``Population.fit`` and Hogwild call the compiled pass of ``Network.fit`` from Python threads
(``epochs.run``; every pass releases the GIL) rather than through kernels of this module:
each compiled layer around a pass has numba optimise and generate the whole pass again
(a first ``Population.fit`` after a first ``Network.fit`` compiled 3.5-4.2 s that way, and
nothing now), and Python threads need no threading layer.

Both release the GIL, as every fastbp kernel does, so networks trained from several Python
threads also run in parallel. Kernel level: this module knows arrays, ``Spec`` and
``Workspace``, never a ``Network``.

Launch them inside ``pool(n_threads)``. numba's default threading layer on Linux, GNU
OpenMP, kills any child forked after a parallel launch as soon as the child trains
("fork() called from a process already using GNU OpenMP"), and multiprocessing, joblib and
Dask fork by default. So unless ``NUMBA_THREADING_LAYER`` is set, or the process launched
parallel numba code before importing fastbp, fastbp asks numba for a fork-safe layer (TBB
if installed, else numba's own workqueue; measured on 2 cores: ``Population(8).fit`` 56.7
ms with GNU OpenMP, 57.4 with workqueue). workqueue does not take two launches at once, so
``pool`` serialises fastbp's launches; where GNU OpenMP is in use all the same, ``pool``
refuses to launch in a forked child with an error saying what to do instead of letting the
process be killed.
"""
import contextlib
import os
import threading

import numba
import numpy as np
from numba import config, prange
from numba.np.ufunc import parallel as _parallel

from . import kernels
from ._jit import inline, pjit
from .layout import Workspace


@inline
def _workspace(units, grads, r):
    """Row r of the stacked workspaces (``workspaces``) as a ``Workspace``."""
    u = units[r]
    return Workspace(u[0], u[1], u[2], grads[r], u, u[3])


@inline
def _part(order, t, k):
    """Thread t's contiguous part of ``order`` split into k."""
    n = order.shape[0]
    return order[t * n // k:(t + 1) * n // k]


@pjit
def population_epoch(thetas, spec, units, grads, X, Y, orders, lrs, l2, batch_size, totals):
    """One epoch for every row of ``thetas`` (k, P) in parallel; row r visits ``orders[r]``
    with learning rate ``lrs[r]``. ``units`` (k, 4, width) and ``grads`` (k, P) are one
    workspace per row (the same kernel as ``Network.fit``). Writes each row's summed cost into
    ``totals[r]``."""
    for r in prange(thetas.shape[0]):
        totals[r] = kernels.epoch(thetas[r], spec, _workspace(units, grads, r), X, Y, orders[r],
                                  lrs[r], l2, batch_size)


@pjit
def hogwild_epoch(theta, spec, units, grads, X, Y, order, lr, l2, totals):
    """Per-example SGD over ``order`` split into len(totals) contiguous parts, one thread
    each, all updating ``theta`` in place without locks. ``units`` (k, 4, width) and
    ``grads`` (k, P) are one workspace per thread."""
    k = totals.shape[0]
    for t in prange(k):
        totals[t] = kernels.epoch(theta, spec, _workspace(units, grads, t), X, Y,
                                  _part(order, t, k), lr, l2, 1)


def workspace_of(units, grads, r):
    """``_workspace`` from Python: row r of the stacked workspaces as a ``Workspace``."""
    return getattr(_workspace, "py_func", _workspace)(units, grads, r)


def workspaces(layout, k, dtype):
    """k stacked workspaces: units (k, 4, width) (``Layout.units``: every row on a cache
    line) and grads (k, P)."""
    return layout.units(dtype, k), np.zeros((k, layout.n_params), dtype=dtype)


def _choose_layer():
    if "NUMBA_THREADING_LAYER" not in os.environ and not _parallel._is_initialized:
        config.THREADING_LAYER = "forksafe"


_choose_layer()
#: launches from several Python threads take turns; re-entrant, so that a pool opened inside
#: another on the same thread (a Population fitted inside ``pool``) does not wait for itself
_launch = threading.RLock()
_first_pid = []


def _check_fork():
    """Refuse a launch in a child forked after a launch under GNU OpenMP (which would
    terminate the process)."""
    if not _first_pid:
        _first_pid.append(os.getpid())
    elif _first_pid[0] != os.getpid() and numba.threading_layer() == "omp":
        raise RuntimeError(
            "this process was forked after parallel training under numba's GNU OpenMP "
            "threading layer, which cannot run in a forked child (the process would be "
            "killed). Use n_threads=1 here, start the children with the 'spawn' or "
            "'forkserver' method, or set NUMBA_THREADING_LAYER=workqueue (or tbb) before "
            "importing fastbp.")


@contextlib.contextmanager
def pool(n_threads):
    """numba's thread pool sized ``n_threads`` (validated by ``fastbp.options``; None keeps
    the current size) for the ``prange`` kernels launched inside; yields the size and
    restores the previous size afterwards (numba's size is per calling thread). Launches
    from several Python threads take turns."""
    with _launch:
        _check_fork()
        before = numba.get_num_threads()
        size = before if n_threads is None else n_threads
        numba.set_num_threads(size)
        try:
            yield size
        finally:
            numba.set_num_threads(before)
