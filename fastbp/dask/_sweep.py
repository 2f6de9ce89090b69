"""``sweep`` and ``WarmupPlugin``: the parts that talk to a ``distributed`` cluster."""
import asyncio
import contextlib
import time
import uuid

import distributed
import numpy as np

from .. import _validation as v
from ..network import Network
from ..warmup import warmup
from . import _configs, _task
from ._result import SweepResult, row


class WarmupPlugin(distributed.WorkerPlugin):
    """Runs ``fastbp.warmup(dtypes, paths)`` on every worker as it starts (and on workers
    that join later), so no task pays numba's compile or cache load. Register it with
    ``client.register_plugin(WarmupPlugin())`` (``sweep(warm=True)`` does). The seconds per
    (dtype, path) are kept as ``worker.fastbp_warmup`` (the last plugin's)."""

    idempotent = True  # registering the same one again (a second sweep) does not warm again

    def __init__(self, dtypes=("float64",), paths=("sgd", "minibatch", "population", "predict")):
        from ..warmup import DTYPES, PATHS, _dtype_name, _names  # checked here, not on workers
        self.dtypes = _names("dtypes", dtypes, DTYPES, _dtype_name)
        self.paths = _names("paths", paths, tuple(PATHS))
        # one name per configuration: a plugin of the same name would be ignored (idempotent)
        # or replace this one
        self.name = f"fastbp-warmup-{'-'.join(self.dtypes)}-{'-'.join(self.paths)}"

    async def setup(self, worker):
        # compile in a thread: a blocking setup would stall the worker's event loop (and its
        # heartbeats) for the whole compile
        loop = asyncio.get_running_loop()
        worker.fastbp_warmup = await loop.run_in_executor(
            None, lambda: warmup(self.dtypes, self.paths))


def _check_data(configs, X, Y, X_val, Y_val):
    """X, Y (and the validation pair) against every architecture, before any submission."""
    if (X_val is None) != (Y_val is None):
        raise ValueError("give X_val and Y_val together (or neither)")
    seen = set()
    for i, c in enumerate(configs):
        key = (c["sizes"], c["output"], c["loss"], c["dtype"])
        if key in seen:
            continue
        seen.add(key)
        net = Network(c["sizes"], hidden=c["hidden"], output=c["output"], loss=c["loss"],
                      dtype=c["dtype"], seed=0)
        try:
            net._xy(X, Y)
            if X_val is not None:
                net._xy(X_val, Y_val)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"the data does not fit configs[{i}] (sizes {list(c['sizes'])}, "
                            f"output {c['output']}): {exc}") from None


@contextlib.contextmanager
def _connected(client, cluster):
    """A Client: the one given, one to a scheduler address, or one of a LocalCluster
    started here (``cluster``: its keyword arguments); what was started here is closed."""
    if isinstance(client, distributed.Client):
        yield client
    elif isinstance(client, str):
        with distributed.Client(client, timeout="60s") as c:
            yield c
    elif client is None:
        kw = {"dashboard_address": ":0", "silence_logs": 40, **(cluster or {})}
        with distributed.LocalCluster(**kw) as lc, distributed.Client(lc) as c:
            yield c
    else:
        raise TypeError(f"client must be a distributed.Client, a scheduler address string or "
                        f"None (a LocalCluster started here), got {type(client).__name__}")


def sweep(configs, X, Y, X_val=None, Y_val=None, *, client=None, members_per_task=16,
          n_threads=1, warm=False, cluster=None, **common):
    """Train every configuration on a Dask cluster; returns a ``SweepResult``.

    configs: a list of dicts (``fastbp.dask.grid``) with keys ``sizes``, ``hidden``,
    ``output``, ``loss``, ``init``, ``dtype`` (the architecture), ``epochs``, ``l2``,
    ``batch_size``, ``shuffle`` (fit options) and ``lr``, ``seed`` (integer); ``common``
    gives any of them to every config (a config's own value wins), the rest take
    ``Network``'s and ``fit``'s defaults. Configs that differ only in lr and seed train as
    one ``Population`` (one l2 per Population: each l2 value is a group of its own), cut
    into tasks of ``members_per_task``. Each member ends bit-identical to
    ``Network(..., seed=seed).fit(X, Y, lr=lr, ...)`` trained alone.

    client: a ``distributed.Client``, a scheduler address, or None (a LocalCluster, with
    ``cluster`` as its keyword arguments, started and closed here). n_threads:
    threads per task (``Population.fit``'s; 1 suits one-thread workers; None: numba's
    thread count). warm: register
    ``WarmupPlugin`` first: True for the configs' dtypes and the paths a task takes
    (population, predict), or the plugin given.

    Everything is checked before anything is submitted; a diverged member gets NaN scores
    and its epoch in ``diverged_at``, the others are unaffected.
    """
    members_per_task = v.check_int("members_per_task", members_per_task)
    if n_threads is not None:
        n_threads = v.check_int("n_threads", n_threads)
    configs = _configs.normalise(configs, common)
    X, Y = np.asarray(X), np.asarray(Y)
    X_val = None if X_val is None else np.asarray(X_val)
    Y_val = None if Y_val is None else np.asarray(Y_val)
    _check_data(configs, X, Y, X_val, Y_val)
    if warm is True:
        # the paths a sweep task takes (a Population, the validation scores)
        warm = WarmupPlugin(dtypes=sorted({c["dtype"] for c in configs}),
                            paths=("population", "predict"))
    elif warm is not False and not isinstance(warm, WarmupPlugin):
        raise TypeError(f"warm must be True, False or a WarmupPlugin, got {warm!r}")
    tasks = _configs.blocks(configs, members_per_task)
    with _connected(client, cluster) as c:
        return _run(c, configs, tasks, (X, Y, X_val, Y_val), n_threads, warm)


def _run(client, configs, tasks, data, n_threads, warm):
    t0 = time.perf_counter()
    if warm:
        client.register_plugin(warm)
    # the data goes to every worker once; tasks get futures (no copy per task)
    data_f = [None if a is None else client.scatter(a, broadcast=True, hash=False)
              for a in data]
    sweep_id = uuid.uuid4().hex[:8]
    futures = []
    for t, idx in enumerate(tasks):
        c0 = configs[idx[0]]
        arch = {k: c0[k] for k in _configs.ARCHITECTURE}
        shared = {k: c0[k] for k in _configs.SHARED}
        futures.append(client.submit(
            _task.train_block, *data_f, arch, shared, [configs[i]["lr"] for i in idx],
            [configs[i]["seed"] for i in idx], n_threads, key=f"fastbp-sweep-{sweep_id}-{t}",
            pure=False))
    try:
        results = client.gather(futures)
    finally:
        client.cancel(futures + [f for f in data_f if f is not None])
    thetas, rows = [None] * len(configs), [None] * len(configs)
    for t, (idx, res) in enumerate(zip(tasks, results)):
        for r, i in enumerate(idx):
            thetas[i] = res["thetas"][r]
            scores = {k: res[k][r].item() for k in
                      ("train_loss", "val_loss", "val_accuracy", "diverged_at")}
            rows[i] = row(configs[i], scores, t, res["worker"], res["seconds"])
    stats = {"tasks": len(tasks), "seconds": time.perf_counter() - t0,
             "bytes_scattered": sum(a.nbytes for a in data if a is not None),
             "bytes_gathered": sum(r["thetas"].nbytes + 5 * 8 * len(r["thetas"])
                                   for r in results)}
    return SweepResult(configs, thetas, rows, stats)
