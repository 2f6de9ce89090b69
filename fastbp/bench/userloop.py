"""A user's own ``@njit`` loop calling ``fastbp.kernels.sgd_step``: it stands for user code,
so it is compiled with plain numba defaults, not fastbp's flags (cached where a cache
location is writable, as fastbp's kernels are)."""
from numba import njit

from .. import kernels
from ..cache import can_cache


def user_loop(theta, spec, ws, X, Y, lr):
    total = 0.0
    for i in range(X.shape[0]):
        total += kernels.sgd_step(theta, spec, ws, X[i], Y[i], lr)
    return total


user_loop = njit(cache=can_cache(user_loop))(user_loop)
