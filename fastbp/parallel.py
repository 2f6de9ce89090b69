"""Where ``Population`` and the ``prange`` kernels used to live; kept for existing imports.

``Population`` is in ``fastbp.population``, the kernels in ``fastbp.threads`` and the Hogwild
helper behind ``Network.fit(..., n_threads=k)`` in ``fastbp.training``.
"""
from .population import Population
from .threads import hogwild_epoch, population_epoch, workspaces
from .training import hogwild

__all__ = ["Population", "hogwild", "hogwild_epoch", "population_epoch", "workspaces"]
