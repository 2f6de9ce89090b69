"""Inverted dropout on the hidden layers, with masks that need no stored state.

Hidden unit u (its index in the workspace's unit buffers) of layer h is kept for example
number s of a fit when uniform(seed, s, u) < keep[h]; its activation is then scaled by
scale[h] = 1 / keep[h], else set to 0. ``uniform`` is a counter-based hash (splitmix64), so
``fastbp.baseline`` draws exactly the same masks. At prediction no unit is dropped.
"""
from typing import NamedTuple

import numpy as np

from ._jit import JIT_DISABLED, U, inline, jit


class Dropout(NamedTuple):
    """Dropout as kernels see it: keep (L,) and scale (L,) in theta's dtype (1 for the input
    and output layers), seed (uint64 as int64), counter: int64 (1,), examples seen so far."""

    keep: np.ndarray
    scale: np.ndarray
    seed: int
    counter: np.ndarray


def make_dropout(rates, n_layers, dtype, seed):
    """A Dropout for drop ``rates`` (one per hidden layer) and a seed."""
    keep = np.ones(n_layers, dtype=dtype)
    keep[1:n_layers - 1] = 1.0 - np.asarray(rates, dtype=np.float64)
    scale = (1.0 / keep.astype(np.float64)).astype(dtype)
    return Dropout(keep, scale, int(seed), np.zeros(1, dtype=np.int64))


def _splitmix(seed, step, unit):
    """A uniform number in [0, 1) from (seed, step, unit): splitmix64 of their mix (uint64
    arithmetic, wrapping around)."""
    x = U(seed) * U(0x9E3779B97F4A7C15) + U(step) * U(0xD1B54A32D192ED03) + U(unit)
    x = x + U(0x9E3779B97F4A7C15)
    x = (x ^ (x >> U(30))) * U(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> U(27))) * U(0x94D049BB133111EB)
    x = x ^ (x >> U(31))
    return (x >> U(11)) * (1.0 / 9007199254740992.0)


def _splitmix_python(seed, step, unit):
    """``_splitmix`` with the JIT off: NumPy warns when uint64 arithmetic wraps around,
    which is what the hash is made of."""
    with np.errstate(over="ignore"):
        return _splitmix(seed, step, unit)


uniform = _splitmix_python if JIT_DISABLED else inline(_splitmix)


@jit
def active(keep):
    """True when some layer keeps fewer than all of its units."""
    for l in range(keep.shape[0]):
        if keep[l] < 1.0:
            return True
    return False


@inline
def drop_units(a, mask, o, n, keep, scale, seed, step):
    """Draw the mask of units o .. o+n-1 for example number ``step`` into mask[o:o+n] and
    apply it to a[o:o+n] (a hidden layer's activations)."""
    for k in range(n):
        m = scale if uniform(seed, step, o + k) < keep else scale * 0.0
        mask[o + k] = m
        a[o + k] *= m
