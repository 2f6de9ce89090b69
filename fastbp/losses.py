"""Loss functions: per-example cost and the output delta dC/dz^L.

Costs are per example (the API averages them). ``mse`` is 0.5 * sum_k (a_k - y_k)^2.
``cross_entropy`` is binary per output unit for a sigmoid output and categorical for a
softmax output; both use the fused delta a^L - y and are evaluated from z^L in a form that
stays finite when the output saturates (log1p / log-sum-exp), never from log(a).
"""
import math

from . import activations as act
from ._jit import jit

MSE = 0
CROSS_ENTROPY = 1

CODES = {"mse": MSE, "cross_entropy": CROSS_ENTROPY}
NAMES = {v: k for k, v in CODES.items()}

#: output activation -> default loss
DEFAULT_LOSS = {
    "softmax": "cross_entropy",
    "sigmoid": "cross_entropy",
    "identity": "mse",
    "tanh": "mse",
}
#: cross-entropy is defined for outputs that are probabilities
CROSS_ENTROPY_OUTPUTS = ("sigmoid", "softmax")

SOFTMAX_CODE = act.SOFTMAX


@jit
def _softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@jit
def output_delta(loss, out, z, a, y, d):
    """Write delta^L = dC/dz^L into d and return the example's cost C.

    z, a: pre-activation and activation of the output layer; y: target row. All 1-D of
    the output width. ``loss`` and ``out`` are the loss and output-activation codes.
    """
    n = z.shape[0]
    cost = 0.0
    if loss == CROSS_ENTROPY:
        if out == SOFTMAX_CODE:
            # -sum_k y_k log a_k = sum_k y_k * (logsumexp(z) - z_k). The softmax already
            # holds logsumexp: for the largest z_m, a_m = 1 / sum_k exp(z_k - z_m) >= 1/n
            # never underflows, so logsumexp(z) = z_m - log(a_m) costs one log, not n exps.
            im = 0
            for k in range(1, n):
                if z[k] > z[im]:
                    im = k
            lse = z[im] - math.log(a[im])
            for k in range(n):
                cost += y[k] * (lse - z[k])
                d[k] = a[k] - y[k]
        else:
            # sigmoid: -[y log a + (1-y) log(1-a)] = softplus(z) - y z
            for k in range(n):
                cost += _softplus(z[k]) - y[k] * z[k]
                d[k] = a[k] - y[k]
        return cost
    # mse
    for k in range(n):
        e = a[k] - y[k]
        cost += e * e
        d[k] = e
    cost *= 0.5
    if out == SOFTMAX_CODE:
        # Jacobian of softmax: d_i = a_i * (e_i - sum_k e_k a_k)
        s = 0.0
        for k in range(n):
            s += d[k] * a[k]
        for k in range(n):
            d[k] = a[k] * (d[k] - s)
    else:
        act.mul_derivative(out, z, a, d)
    return cost


@jit
def cost(loss, out, z, a, y):
    """The example's cost only (no delta): used by loss evaluation and prediction paths."""
    n = z.shape[0]
    c = 0.0
    if loss == CROSS_ENTROPY:
        if out == SOFTMAX_CODE:
            m = z[0]
            for k in range(1, n):
                m = max(m, z[k])
            s = 0.0
            for k in range(n):
                s += math.exp(z[k] - m)
            lse = m + math.log(s)
            for k in range(n):
                c += y[k] * (lse - z[k])
        else:
            for k in range(n):
                c += _softplus(z[k]) - y[k] * z[k]
        return c
    for k in range(n):
        e = a[k] - y[k]
        c += e * e
    return 0.5 * c

