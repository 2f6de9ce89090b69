"""``SweepResult``: the table of a sweep and its best members, rebuilt locally."""
import os

import numpy as np

from ..network import Network
from ._configs import ARCHITECTURE, KEYS

SCORES = ("train_loss", "val_loss", "val_accuracy")


class SweepResult:
    """What ``fastbp.dask.sweep`` returns.

    ``configs``: the configurations as trained (defaults filled in); ``thetas``: each one's
    final parameters (a list of 1-D arrays, in config order); ``rows``: one dict per config
    (its keys, ``train_loss``, ``val_loss``, ``val_accuracy``, ``diverged_at``, ``task``,
    ``worker``, ``seconds`` of its task); ``table``: the rows as a pandas DataFrame (a list
    of dicts without pandas); ``best`` / ``save_best``: the top members as Networks / files.
    """

    def __init__(self, configs, thetas, rows, stats=None):
        self.configs, self.thetas, self.rows = configs, thetas, rows
        #: sweep-level figures: tasks, wall seconds, bytes scattered and gathered
        self.stats = dict(stats or {})

    def __len__(self):
        return len(self.configs)

    def __repr__(self):
        return f"SweepResult({len(self)} configs, {self.stats.get('tasks', '?')} tasks)"

    @property
    def table(self):
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - pandas comes with dask
            return [dict(r) for r in self.rows]
        return pd.DataFrame(self.rows)

    def ranking(self, by="val_loss"):
        """Config indices from best to worst by ``by`` (losses ascending, ``val_accuracy``
        descending), diverged and NaN-scored configs left out."""
        if by not in SCORES:
            raise ValueError(f"by must be one of {list(SCORES)}, got {by!r}")
        values = np.array([r[by] for r in self.rows], dtype=float)
        if np.isnan(values).all():
            raise ValueError(f"no configuration has a {by} (validation data not given, an "
                             f"output without accuracy, or every member diverged); rank "
                             f"by='train_loss' instead")
        key = -values if by == "val_accuracy" else values
        ok = np.flatnonzero(~np.isnan(values))
        return ok[np.argsort(key[ok], kind="stable")].tolist()

    def network(self, i):
        """Config ``i``'s trained network, rebuilt here from its theta (its random generator
        is a fresh one from its seed, not the one its training advanced)."""
        c = self.configs[i]
        net = Network(**{k: c[k] for k in ARCHITECTURE}, seed=c["seed"])
        net.theta = self.thetas[i]
        return net

    def best(self, k=1, by="val_loss"):
        """The ``k`` best configs' Networks (fewer if fewer have a score), best first."""
        k = _count("k", k)
        return [self.network(i) for i in self.ranking(by)[:k]]

    def save_best(self, directory, k=1, by="val_loss"):
        """Save the ``k`` best networks as ``directory/config_<index>.npz`` (model files,
        ``fastbp.load`` reads them); returns their paths, best first."""
        k = _count("k", k)
        os.makedirs(directory, exist_ok=True)
        return [self.network(i).save(os.path.join(directory, f"config_{i}.npz"))
                for i in self.ranking(by)[:k]]


def _count(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def row(config, scores, task, worker, seconds):
    """One table row: the config's keys (sizes and hidden as tuples), then its results."""
    return {**{k: config[k] for k in KEYS}, **scores, "task": task, "worker": worker,
            "seconds": seconds}
