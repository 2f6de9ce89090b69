"""Loss functions: per-example cost and the output delta dC/dz^L.

Costs are per example (the API averages them). ``mse`` is 0.5 * sum_k (a_k - y_k)^2.
``cross_entropy`` is binary per output unit for a sigmoid output and categorical for a
softmax output; both use the fused delta a^L - y and are evaluated from z^L in a form that
stays finite when the output saturates (log1p / log-sum-exp), never from log(a) of a
rounded-to-zero probability.

The kernel helpers work on the output layer's units inside the flat workspace buffers
(offset ``o``, ``n`` units) and read the target from row ``i`` of Y.
"""
import math

from . import activations as act
from ._jit import internal

MSE = 0
CROSS_ENTROPY = 1

CODES = {"mse": MSE, "cross_entropy": CROSS_ENTROPY}

#: output activation -> default loss
DEFAULT_LOSS = {
    "softmax": "cross_entropy",
    "sigmoid": "cross_entropy",
    "identity": "mse",
    "tanh": "mse",
}
#: cross-entropy is defined for outputs that are probabilities
CROSS_ENTROPY_OUTPUTS = ("sigmoid", "softmax")

SOFTMAX = act.SOFTMAX


@internal
def softplus(z):
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@internal
def _softmax_lse(z, a, o, n):
    """logsumexp(z) of a softmax layer, from its output: for the largest z_m,
    a_m = 1 / sum_k exp(z_k - z_m) >= 1/n never underflows, so logsumexp = z_m - log(a_m)
    (one log instead of n exps)."""
    im = o
    for k in range(n):
        if z[o + k] > z[im]:
            im = o + k
    return z[im] - math.log(a[im])


@internal
def cost(loss, out, z, a, o, n, Y, i):
    """The cost of one example: output units z/a[o:o+n] against the target row Y[i]."""
    c = 0.0
    if loss == CROSS_ENTROPY:
        if out == SOFTMAX:
            # -sum_k y_k log a_k = sum_k y_k * (logsumexp(z) - z_k)
            lse = _softmax_lse(z, a, o, n)
            for k in range(n):
                c += Y[i, k] * (lse - z[o + k])
        else:
            # sigmoid: -[y log a + (1-y) log(1-a)] = softplus(z) - y z
            for k in range(n):
                zk = z[o + k]
                c += softplus(zk) - Y[i, k] * zk
        return c
    for k in range(n):
        e = a[o + k] - Y[i, k]
        c += e * e
    return 0.5 * c


@internal
def output_delta(loss, out, z, a, d, o, n, Y, i):
    """Write delta^L = dC/dz^L into d[o:o+n] and return the example's cost (``cost``)."""
    c = cost(loss, out, z, a, o, n, Y, i)
    for k in range(n):
        d[o + k] = a[o + k] - Y[i, k]
    if loss == CROSS_ENTROPY:
        return c  # fused: a - y for sigmoid and softmax outputs
    # mse: (a - y) * g'(z)
    if out == SOFTMAX:
        # Jacobian of softmax: d_i = a_i * (e_i - sum_k e_k a_k)
        s = 0.0
        for k in range(n):
            s += d[o + k] * a[o + k]
        for k in range(n):
            d[o + k] = a[o + k] * (d[o + k] - s)
    else:
        act.mul_derivative(out, z, a, d, o, n)
    return c
