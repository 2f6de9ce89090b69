"""fastbp on a Dask cluster: sweeps of many small networks, one ``Population`` per task.

``sweep(configs, X, Y, X_val, Y_val, client=...)`` trains every configuration of ``grid(...)``
(or of any list of dicts) on a ``distributed`` cluster: configurations that differ only in
``lr`` and ``seed`` share an architecture and are cut into blocks of ``members_per_task``
members, each block one task training one ``Population`` (so one task carries enough work
to amortise the scheduler's per-task cost); the data is scattered to the workers once; the
tasks send back compact arrays (thetas and scores), gathered into a ``SweepResult``.
``WarmupPlugin`` runs ``fastbp.warmup`` on every worker as it starts.

Needs the extra ``fastbp[dask]``; ``import fastbp`` never imports this package.
"""
try:
    import distributed  # noqa: F401
    import dask  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(
        f"fastbp.dask needs dask and distributed ({exc}); install them with "
        f"pip install 'fastbp[dask]'") from exc

from ._configs import grid
from ._result import SweepResult
from ._sweep import WarmupPlugin, sweep

__all__ = ["grid", "sweep", "SweepResult", "WarmupPlugin"]
