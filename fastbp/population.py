"""``Population``: n independent networks of one architecture trained on every core.

An ensemble, a sweep over seeds or learning rates, one brain per agent: the members'
parameter vectors are the rows of one 2-D array, and ``fit`` trains the rows in parallel on
``n_threads`` Python threads, each member's epoch one call of the compiled pass that
``Network.fit`` runs (``fastbp.epochs.run``; the passes release the GIL). Every member runs
exactly the computation that ``Network.fit`` would run for it alone (same compiled pass,
same initial theta, same shuffles), so each row is bit-identical to training that network
by itself, and a first ``Population.fit`` after a first ``Network.fit`` compiles nothing.
(Through a ``prange`` kernel of its own, ``fastbp.threads``, it compiled 3.5-4.2 s more,
fresh cache, 2-4-1, one pinned core: numba optimised and generated the whole pass again in
each compiled layer around it.)

Copies (pickle, ``copy.copy``, ``copy.deepcopy``) re-attach every member to its row of the
copy's ``thetas`` and give it fresh scratch: a copy shares nothing with the original.
``fit`` holds every member's training lock, so a member cannot be trained on its own while
the population trains (RuntimeError, as for two trainings of one Network).
"""
import contextlib
import copy
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from . import _validation as v
from . import io, kernels, options, threads
from .epochs import plain_sgd, run
from .layout import aligned_zeros, is_aligned
from .network import Network
from .training import DivergenceError, check_apart, check_theta_finite, population_history


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
        self.dtype = self.members[0].dtype
        self.thetas = np.stack([m.theta for m in self.members])
        self._attach()

    def _attach(self):
        """Make member r's theta (and its weights/biases views) row r of ``thetas``; build
        the training scratch."""
        for r, m in enumerate(self.members):
            m._theta = self.thetas[r]
            m._attach()
        self.layout, self.spec = self.members[0].layout, self.members[0].spec
        self._units, self._grads = threads.workspaces(self.layout, len(self.members),
                                                      self.dtype)

    def __getstate__(self):
        return {k: val for k, val in self.__dict__.items() if k not in ("spec", "_units", "_grads")}

    def __setstate__(self, state):
        # pickle and deepcopy copy each member's theta as an array of its own: re-attach
        # them to the rows of the copied thetas (which fit trains)
        self.__dict__.update(state)
        self._attach()

    def __copy__(self):
        # a shallow copy would share thetas and the members with the original: copy.copy
        # gives an independent population, as Network's does
        return copy.deepcopy(self)

    def save(self, path, generator=True, history=True):
        """Write the population to a model file (``fastbp.io``; atomic), returning ``path``:
        the architecture, ``thetas`` and each member's generator state (``generator``) and
        ``history_`` (``history``). Load it with ``fastbp.load`` or ``Population.load``."""
        meta, arrays = io.population_parts(self, generator=generator, history=history)
        return io.write(path, "Population", meta, arrays)

    @classmethod
    def load(cls, path):
        """The Population saved in ``path`` (ValueError naming the file if it is not one)."""
        return io.load(path, kind="Population")

    def __len__(self):
        return len(self.members)

    def __repr__(self):
        return f"Population({len(self)} x {self.members[0]!r})"

    def predict(self, X):
        """(n_members, n_rows, n_outputs): every member's outputs."""
        return np.stack([m.predict(X) for m in self.members])

    @options.takes(("epochs", "lr", "batch_size", "l2", "shuffle", "n_threads"), docs={
        "lr": "one learning rate for every member or one per member",
        "n_threads": "threads that share the members (None: numba's thread count)"})
    def fit(self, X, Y, **given):
        """Train every member for ``epochs`` of SGD, members in parallel.

        Each member shuffles with its own generator, exactly as its ``Network.fit`` would.
        Returns the (epochs, n_members) array of mean training losses. A member whose loss
        or parameters become non-finite is restored to its state before that epoch and
        reported by ``DivergenceError`` (its ``members``: their indices).
        """
        k = len(self)
        lr = given.pop("lr")
        if np.ndim(lr) == 0:  # one lr: checked with the others, as Network.fit checks it
            given["lr"] = lr
        elif np.shape(lr) != (k,):
            raise ValueError(f"lr must be one number or {k} (one per member), got shape "
                             f"{np.shape(lr)}")
        opts = options.validate(len(self.layout.sizes) - 2, dtype=self.dtype, **given)
        lrs = np.array([opts.lr] * k if np.ndim(lr) == 0 else
                       [options.check("lr", r, f"lr[{i}]", self.dtype) for i, r in enumerate(lr)],
                       dtype=self.dtype)
        X, Y = self.members[0]._xy(X, Y, aligned=True)
        check_apart(X, self.thetas, "the population's thetas")
        for i, theta in enumerate(self.thetas):
            check_theta_finite(theta, f"members[{i}].theta")
        with contextlib.ExitStack() as held:
            for m in self.members:
                held.callback(m._training().release)
            return self._fit(X, Y, opts, lrs)

    def _fit(self, X, Y, opts, lrs):
        """fit's epochs (validated inputs, every member's training lock held)."""
        k = len(self)
        n = X.shape[0]
        epochs, batch_size, l2 = opts.epochs, opts.batch_size, opts.l2
        totals = np.zeros(k)
        losses = np.zeros((epochs, k))
        # what Network.fit hands the pass for plain SGD: a state per member (its lr), a
        # dropout that drops nothing, a workspace per member; the same types, so the same
        # compiled pass
        n_layers = len(self.layout.sizes)
        states, drops = zip(*(plain_sgd(self.layout.n_params, n_layers, self.dtype, lr, l2)
                               for lr in lrs))
        spaces = [threads.workspace_of(self._units, self._grads, r) for r in range(k)]

        # a member whose row of thetas does not start on a cache line (rows are n_params
        # entries apart) trains in an aligned copy, copied back after each epoch: two copies
        # per epoch against a sweep of theta per example (layout.ALIGN)
        own = [None if is_aligned(t) else aligned_zeros(t.shape[0], t.dtype)
               for t in self.thetas]

        def member_epoch(r, order):
            theta, work = self.thetas[r], own[r]
            if work is None:
                work = theta
            else:
                work[:] = theta
            totals[r] = run(work, self.spec, spaces[r], states[r], drops[r], X, Y, order,
                            batch_size)
            if work is not theta:
                theta[:] = work

        n_threads = numba.get_num_threads() if opts.n_threads is None else opts.n_threads
        workers = min(n_threads, k)
        with contextlib.ExitStack() as stack:
            pool = stack.enter_context(ThreadPoolExecutor(workers)) if workers > 1 else None
            for e in range(epochs):
                orders = [m._rng.permutation(n) if opts.shuffle else np.arange(n)
                          for m in self.members]
                backup = self.thetas.copy()
                if pool is None:
                    for r in range(k):
                        member_epoch(r, orders[r])
                else:  # list(): wait for every member, and raise what one of them raised
                    list(pool.map(member_epoch, range(k), orders))
                mean = totals / n
                if l2:
                    mean += np.array([0.5 * l2 * float(kernels.l2_term(t, self.spec))
                                      for t in self.thetas])
                bad = ~(np.isfinite(mean) & np.isfinite(self.thetas).all(axis=1))
                if bad.any():
                    self.thetas[bad] = backup[bad]
                    members = tuple(np.flatnonzero(bad).tolist())
                    raise DivergenceError(
                        f"members {list(members)} diverged at epoch {e + 1} of {epochs}; their "
                        f"parameters were restored to their state before that epoch. Try a "
                        f"smaller lr for them or scale the inputs.", e + 1,
                        population_history(losses[:e], lrs), members)
                losses[e] = mean
        return losses


io.register("Population", Population)
