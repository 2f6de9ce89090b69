"""Activation functions: names at the API edge, integer codes inside the kernels.

Each kernel helper works on one layer's units inside the flat workspace buffers
(``z[o:o + n]``, ``a[o:o + n]``), branches on the code once, then runs a plain loop, so the
branch never sits inside an inner loop. Offsets and counts are unsigned (see
``fastbp.kernels``). ``g'(z)`` is computed from whichever of z or a = g(z) is exact and
cheap: sigmoid and tanh from a, the rectifier family from z.
"""
import math

import numpy as np
from numba import types
from numba.extending import overload

from ._jit import FASTMATH, bits_as_float32, bits_as_float64, cast_like, inline, internal

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


def _exp64(x):
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
    # the polynomial in pairs (Estrin's scheme, powers of r*r): a chain of five
    # multiply-adds after r*r, not Horner's thirteen (``_exp32`` has the figures)
    r2 = r * r
    r4 = r2 * r2
    q = (((_C[13] * r + _C[12]) * r2 + (_C[11] * r + _C[10])) * r4
         + ((_C[9] * r + _C[8]) * r2 + (_C[7] * r + _C[6])))
    q = q * r4 + ((_C[5] * r + _C[4]) * r2 + (_C[3] * r + _C[2]))
    p = q * r2 + r + _C[0]
    n1 = n >> 1
    y = p * bits_as_float64((n1 + 1023) << 52) * bits_as_float64((n - n1 + 1023) << 52)
    return y if x == x else x


# float32 exp's constants (Cephes' expf): ln 2 = _LN2_HI32 - _LN2_LO32 with _LN2_HI32 =
# 355/512 (n * it is exact in float32 for |n| < 2**15), the polynomial's coefficients, and
# the clamp [-104, 89] (beyond it the float32 result is 0 or inf)
_F = np.float32
_LOG2E32 = _F(_LOG2E)
_LN2_HI32 = _F(0.693359375)
_LN2_LO32 = _F(-2.12194440e-4)
_P32 = tuple(_F(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                             4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_LO32, _HI32, _HALF32, _ONE32 = _F(-104.0), _F(89.0), _F(0.5), _F(1.0)
_BIAS32, _SHIFT32, _ONE_I32 = np.int32(127), np.int32(23), np.int32(1)


def _exp32(x):
    """``_exp64`` in float32 arithmetic (for float32 networks: twice the lanes per vector and
    a polynomial of degree 7, not 13): within one ulp of the correctly rounded e**x
    (tests/test_activations.py), as NumPy's float32 exp."""
    xc = x if x > _LO32 else _LO32
    xc = xc if xc < _HI32 else _HI32
    nf = np.floor(xc * _LOG2E32 + _HALF32)
    r = (xc - nf * _LN2_HI32) - nf * _LN2_LO32
    # Estrin's scheme as in ``_exp64``: three dependent multiply-adds after r*r instead of
    # Horner's five. exp sits twice on a sigmoid network's chain of dependent operations
    # per example (each hidden and output sigmoid): per example (``kernels.epoch``, one
    # pinned core, alternating processes) 2-4-1 float32 0.073-0.074 -> 0.069-0.070 µs,
    # float64 0.096-0.098 -> 0.088-0.089, 64-32-10 float32 0.182-0.189 -> 0.182, float64
    # 0.251-0.258 -> 0.240-0.248; 784-100-10 within noise. Same accuracy in float32 (8.8%
    # of results one ulp from the correctly rounded value, as before); in float64 10.5%
    # of results one ulp from NumPy's instead of 7.8%, none further
    r2 = r * r
    p = ((_P32[0] * r + _P32[1]) * r2 + (_P32[2] * r + _P32[3])) * r2 + (_P32[4] * r + _P32[5])
    y = p * r2 + r + _ONE32
    n = np.int32(nf)
    n1 = n >> _ONE_I32
    y = (y * bits_as_float32((n1 + _BIAS32) << _SHIFT32)
         * bits_as_float32((n - n1 + _BIAS32) << _SHIFT32))
    return y if x == x else x


def exp(x):
    """e**x in x's precision (``_exp64``, or ``_exp32`` for a float32 x), vectorisable.
    Compiled code resolves the precision when it is typed (the overload below)."""
    return _exp32(x) if isinstance(x, np.float32) else _exp64(x)


@overload(exp, jit_options=dict(fastmath=set(FASTMATH), error_model="numpy"))
def _exp_typed(x):
    return _exp32 if x == types.float32 else _exp64


@inline
def sigmoid(z):
    """1 / (1 + e**-z) with e = exp(-|z|) (never overflows): 1 / (1 + e) for z >= 0,
    e / (1 + e) otherwise; a select, not a branch, so that the loops vectorise. In z's
    precision."""
    one = cast_like(z, 1.0)
    e = exp(-abs(z))
    return (one if z >= cast_like(z, 0.0) else e) / (one + e)


@internal
def activate(code, z, a, o, n):
    """a[o + k] = g(z[o + k]) for k < n, for the activation ``code``, in z's precision."""
    zero, slope, alpha = cast_like(z, 0.0), cast_like(z, LEAKY_SLOPE), cast_like(z, ELU_ALPHA)
    if code == SIGMOID:
        for k in range(n):
            a[o + k] = sigmoid(z[o + k])
    elif code == TANH:
        for k in range(n):
            a[o + k] = math.tanh(z[o + k])
    elif code == RELU:
        for k in range(n):
            zk = z[o + k]
            a[o + k] = zk if zk > zero else zero
    elif code == LEAKY_RELU:
        for k in range(n):
            zk = z[o + k]
            a[o + k] = zk if zk > zero else slope * zk
    elif code == ELU:
        for k in range(n):
            zk = z[o + k]
            a[o + k] = zk if zk > zero else alpha * math.expm1(zk)
    elif code == SOFTPLUS:
        # log(1 + e^z) = max(z, 0) + log1p(e^-|z|): no overflow for large |z|.
        for k in range(n):
            zk = z[o + k]
            a[o + k] = max(zk, zero) + math.log1p(math.exp(-abs(zk)))
    elif code == SOFTMAX:
        m = z[o]
        for k in range(n):
            m = max(m, z[o + k])
        s = zero
        for k in range(n):
            e = exp(z[o + k] - m)
            a[o + k] = e
            s += e
        for k in range(n):
            a[o + k] = a[o + k] / s
    else:  # IDENTITY
        for k in range(n):
            a[o + k] = z[o + k]


@internal
def mul_derivative_z(code, z, d, o, n):
    """d[o + k] *= g'(z[o + k]) computed from z alone (used under dropout, where the
    activation buffer holds the dropped-out values rather than g(z)). In z's precision."""
    zero, one = cast_like(z, 0.0), cast_like(z, 1.0)
    slope, alpha = cast_like(z, LEAKY_SLOPE), cast_like(z, ELU_ALPHA)
    if code == SIGMOID:
        for k in range(n):
            s = sigmoid(z[o + k])
            d[o + k] *= s * (one - s)
    elif code == TANH:
        for k in range(n):
            t = math.tanh(z[o + k])
            d[o + k] *= one - t * t
    elif code == RELU:
        for k in range(n):
            if not z[o + k] > zero:
                d[o + k] = zero
    elif code == LEAKY_RELU:
        for k in range(n):
            if not z[o + k] > zero:
                d[o + k] *= slope
    elif code == ELU:
        for k in range(n):
            zk = z[o + k]
            if not zk > zero:
                d[o + k] *= alpha * math.exp(zk)
    elif code == SOFTPLUS:
        for k in range(n):
            d[o + k] *= sigmoid(z[o + k])


@internal
def mul_derivative(code, z, a, d, o, n):
    """d[o + k] *= g'(z[o + k]) for k < n, for an element-wise activation (not softmax);
    sigmoid and tanh take g' from a = g(z), the others from z. In a's precision."""
    one = cast_like(a, 1.0)
    if code == SIGMOID:
        for k in range(n):
            ak = a[o + k]
            d[o + k] *= ak * (one - ak)
    elif code == TANH:
        for k in range(n):
            ak = a[o + k]
            d[o + k] *= one - ak * ak
    else:
        mul_derivative_z(code, z, d, o, n)
