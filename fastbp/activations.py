"""Activation functions: names at the API edge, integer codes inside the kernels.

Each kernel helper branches on the code once and then runs a plain loop, so the branch
never sits inside an inner loop. ``g'(z)`` is computed from whichever of z or a = g(z) is
exact and cheap: sigmoid and tanh from a, the rectifier family from z.
"""
import math

from ._jit import jit

IDENTITY = 0
SIGMOID = 1
TANH = 2
RELU = 3
LEAKY_RELU = 4
ELU = 5
SOFTPLUS = 6
SOFTMAX = 7

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0

HIDDEN = {
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "elu": ELU,
    "softplus": SOFTPLUS,
    "identity": IDENTITY,
}
OUTPUT = {
    "sigmoid": SIGMOID,
    "softmax": SOFTMAX,
    "identity": IDENTITY,
    "tanh": TANH,
}
NAMES = {code: name for name, code in {**HIDDEN, **OUTPUT}.items()}


@jit
def _sigmoid(z):
    # Two branches so that exp never overflows: exp(-z) for z >= 0, exp(z) otherwise.
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@jit
def activate(code, z, a):
    """a[k] = g(z[k]) for the activation ``code``; z and a are 1-D of equal length."""
    n = z.shape[0]
    if code == SIGMOID:
        for k in range(n):
            a[k] = _sigmoid(z[k])
    elif code == TANH:
        for k in range(n):
            a[k] = math.tanh(z[k])
    elif code == RELU:
        for k in range(n):
            a[k] = z[k] if z[k] > 0.0 else 0.0
    elif code == LEAKY_RELU:
        for k in range(n):
            a[k] = z[k] if z[k] > 0.0 else LEAKY_SLOPE * z[k]
    elif code == ELU:
        for k in range(n):
            a[k] = z[k] if z[k] > 0.0 else ELU_ALPHA * math.expm1(z[k])
    elif code == SOFTPLUS:
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large |z|.
        for k in range(n):
            a[k] = max(z[k], 0.0) + math.log1p(math.exp(-abs(z[k])))
    elif code == SOFTMAX:
        m = z[0]
        for k in range(1, n):
            m = max(m, z[k])
        s = 0.0
        for k in range(n):
            a[k] = math.exp(z[k] - m)
            s += a[k]
        for k in range(n):
            a[k] = a[k] / s
    else:  # IDENTITY
        for k in range(n):
            a[k] = z[k]


@jit
def mul_derivative(code, z, a, d):
    """d[k] *= g'(z[k]) for an element-wise activation (not softmax)."""
    n = z.shape[0]
    if code == SIGMOID:
        for k in range(n):
            d[k] *= a[k] * (1.0 - a[k])
    elif code == TANH:
        for k in range(n):
            d[k] *= 1.0 - a[k] * a[k]
    elif code == RELU:
        for k in range(n):
            if not z[k] > 0.0:
                d[k] = 0.0
    elif code == LEAKY_RELU:
        for k in range(n):
            if not z[k] > 0.0:
                d[k] *= LEAKY_SLOPE
    elif code == ELU:
        for k in range(n):
            if not z[k] > 0.0:
                d[k] *= ELU_ALPHA * math.exp(z[k])
    elif code == SOFTPLUS:
        for k in range(n):
            d[k] *= _sigmoid(z[k])
    # IDENTITY: g' = 1
