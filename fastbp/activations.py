"""Activation functions: names at the API edge, integer codes inside the kernels.

Each kernel helper works on one layer's units inside the flat workspace buffers
(``z[o:o + n]``, ``a[o:o + n]``), branches on the code once, then runs a plain loop, so the
branch never sits inside an inner loop. Offsets and counts are unsigned (see
``fastbp.kernels``). ``g'(z)`` is computed from whichever of z or a = g(z) is exact and
cheap: sigmoid and tanh from a, the rectifier family from z.
"""
import math

from ._jit import bits_as_float64, inline, jit

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


# exp's constants: log2(e), ln 2 in two parts (Cody and Waite: n * _LN2_HI is exact for
# |n| < 2**11), and 1/k! for the Taylor polynomial of exp(r) on |r| <= ln(2)/2
_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_C = tuple(1.0 / math.factorial(k) for k in range(14))


@inline
def exp(x):
    """e**x in float64 with a few ulp of error (tests/test_activations.py checks it against
    NumPy over the whole range), in plain arithmetic that LLVM vectorises: numba's math.exp
    calls libm once per element (numba's pip build has no SVML). x = n ln2 + r, e**r by its
    Taylor polynomial of degree 13 (truncation below 1e-17 relative), 2**n from its bit
    pattern in two halves so that 2**1024 and subnormal results need no special case.
    x is clamped to [-746, 710] (beyond them the result is 0 or inf anyway); NaN stays NaN."""
    xc = x if x > -746.0 else -746.0
    xc = xc if xc < 710.0 else 710.0
    n = math.floor(xc * _LOG2E + 0.5)
    r = (xc - n * _LN2_HI) - n * _LN2_LO
    p = _C[13]
    p = p * r + _C[12]
    p = p * r + _C[11]
    p = p * r + _C[10]
    p = p * r + _C[9]
    p = p * r + _C[8]
    p = p * r + _C[7]
    p = p * r + _C[6]
    p = p * r + _C[5]
    p = p * r + _C[4]
    p = p * r + _C[3]
    p = p * r + _C[2]
    p = p * r + _C[1]
    p = p * r + _C[0]
    n1 = n >> 1
    y = p * bits_as_float64((n1 + 1023) << 52) * bits_as_float64((n - n1 + 1023) << 52)
    return y if x == x else x


@inline
def sigmoid(z):
    """1 / (1 + e**-z) with e = exp(-|z|) (never overflows): 1 / (1 + e) for z >= 0,
    e / (1 + e) otherwise; a select, not a branch, so that the loops vectorise."""
    e = exp(-abs(z))
    return (1.0 if z >= 0.0 else e) / (1.0 + e)


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
            e = exp(z[o + k] - m)
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
