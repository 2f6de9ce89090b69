"""Seeded initialisers that write straight into theta.

Weights of layer l (fan_in = s_l, fan_out = s_(l+1)) are drawn in float64 from the
generator, layer by layer in order, then stored in theta's dtype; biases start at 0. The
same seed therefore gives bit-identical theta for either dtype's draws.

- ``glorot_uniform``: U(-e, e), e = sqrt(6) / sqrt(fan_in + fan_out)
- ``he_uniform``: U(-e, e), e = sqrt(6 / fan_in)
- ``normal``: N(0, 0.01^2), the "small random numbers" of the classic recipe
- ``zeros``: all zero; it keeps every hidden unit of a layer identical forever (symmetry)
"""
import math

NORMAL_STD = 0.01
INITS = ("glorot_uniform", "he_uniform", "normal", "zeros")


def initialize(theta, layout, method, rng):
    """Fill theta in place following ``method``; ``rng`` is a numpy Generator."""
    theta[:] = 0.0
    if method == "zeros":
        return theta
    for l in range(layout.n_weight_layers):
        fan_out, fan_in = layout.weight_shape(l)
        shape = (fan_out, fan_in)
        if method == "glorot_uniform":
            e = math.sqrt(6.0) / math.sqrt(fan_in + fan_out)
            w = rng.uniform(-e, e, size=shape)
        elif method == "he_uniform":
            e = math.sqrt(6.0 / fan_in)
            w = rng.uniform(-e, e, size=shape)
        elif method == "normal":
            w = rng.normal(0.0, NORMAL_STD, size=shape)
        else:
            raise ValueError(f"init must be one of {INITS}, got {method!r}")
        theta[layout.weight_slice(l)] = w.reshape(-1)
    return theta
