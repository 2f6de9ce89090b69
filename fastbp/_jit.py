"""The one place where fastbp's numba compilation flags are set.

fastmath allows reassociation (so reductions such as dot products can be vectorised)
and contraction (fused multiply-add). It never sets ``nnan``/``ninf``: the NaN and Inf
checks that detect a diverging run must keep working.
"""
from numba import njit

FASTMATH = frozenset({"reassoc", "contract"})


def jit(func):
    """Compile ``func`` as a fastbp kernel: nopython, cached on disk, GIL released."""
    return njit(cache=True, nogil=True, fastmath=set(FASTMATH))(func)
