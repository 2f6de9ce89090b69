"""Activation functions: names at the API edge, integer codes inside the kernels.

Each kernel helper works on one layer's units inside the flat workspace buffers
(``z[o:o + n]``, ``a[o:o + n]``), branches on the code once, then runs a plain loop, so the
branch never sits inside an inner loop. Offsets and counts are unsigned (see
``fastbp.kernels``). ``g'(z)`` is computed from whichever of z or a = g(z) is exact and
cheap: sigmoid and tanh from a, the rectifier family from z.
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


@jit
def sigmoid(z):
    # Two branches so that exp never overflows: exp(-z) for z >= 0, exp(z) otherwise.
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@jit
def activate(code, z, a, o, n):
    """a[o + k] = g(z[o + k]) for k < n, for the activation ``code``."""
    if code == SIGMOID:
        for k in range(n):
            a[o + k] = sigmoid(z[o + k])
    elif code == TANH:
        for k in range(n):
            a[o + k] = math.tanh(z[o + k])
    elif code == RELU:
        for k in range(n):
            zk = z[o + k]
            a[o + k] = zk if zk > 0.0 else 0.0
    elif code == LEAKY_RELU:
        for k in range(n):
            zk = z[o + k]
            a[o + k] = zk if zk > 0.0 else LEAKY_SLOPE * zk
    elif code == ELU:
        for k in range(n):
            zk = z[o + k]
            a[o + k] = zk if zk > 0.0 else ELU_ALPHA * math.expm1(zk)
    elif code == SOFTPLUS:
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large |z|.
        for k in range(n):
            zk = z[o + k]
            a[o + k] = max(zk, 0.0) + math.log1p(math.exp(-abs(zk)))
    elif code == SOFTMAX:
        m = z[o]
        for k in range(n):
            m = max(m, z[o + k])
        s = 0.0
        for k in range(n):
            e = math.exp(z[o + k] - m)
            a[o + k] = e
            s += e
        for k in range(n):
            a[o + k] = a[o + k] / s
    else:  # IDENTITY
        for k in range(n):
            a[o + k] = z[o + k]


@jit
def mul_derivative_z(code, z, d, o, n):
    """d[o + k] *= g'(z[o + k]) computed from z alone (used under dropout, where the
    activation buffer holds the dropped-out values rather than g(z))."""
    if code == SIGMOID:
        for k in range(n):
            s = sigmoid(z[o + k])
            d[o + k] *= s * (1.0 - s)
    elif code == TANH:
        for k in range(n):
            t = math.tanh(z[o + k])
            d[o + k] *= 1.0 - t * t
    elif code == RELU:
        for k in range(n):
            if not z[o + k] > 0.0:
                d[o + k] = 0.0
    elif code == LEAKY_RELU:
        for k in range(n):
            if not z[o + k] > 0.0:
                d[o + k] *= LEAKY_SLOPE
    elif code == ELU:
        for k in range(n):
            zk = z[o + k]
            if not zk > 0.0:
                d[o + k] *= ELU_ALPHA * math.exp(zk)
    elif code == SOFTPLUS:
        for k in range(n):
            d[o + k] *= sigmoid(z[o + k])


@jit
def mul_derivative(code, z, a, d, o, n):
    """d[o + k] *= g'(z[o + k]) for k < n, for an element-wise activation (not softmax);
    sigmoid and tanh take g' from a = g(z), the others from z."""
    if code == SIGMOID:
        for k in range(n):
            ak = a[o + k]
            d[o + k] *= ak * (1.0 - ak)
    elif code == TANH:
        for k in range(n):
            ak = a[o + k]
            d[o + k] *= 1.0 - ak * ak
    else:
        mul_derivative_z(code, z, d, o, n)
