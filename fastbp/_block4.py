"""Building blocks for mini-batches: four examples per sweep over each weight matrix.

The forward and backward passes of four examples share one load of every weight (and,
backward, one read-modify-write of every gradient entry); their activations stay in L1
cache while the rows of W stream past. Mini-batch epochs run a batch as consecutive
blocks of four examples and then its remaining 0-3 examples one at a time, so that each
gradient entry receives the blocks' four-example sums and then the remaining examples, in
order. The four examples' buffers are the rows of Z, A, D, M (4, n_units).
"""
from . import activations as act
from ._blocks import drop_layer, hidden_derivative, offsets, zero
from ._jit import cast_like, jit
from .layout import ACT


@jit
def forward4(theta, tab, Z, A, M, drop, step, dropout):
    """Forward pass of the four examples whose inputs are in A[b, 0:n0]; example b is
    number step + b for dropout."""
    for l in range(tab.shape[1] - 1):
        n_in, n_out, wo, bo, ai, zo = offsets(tab, l)
        for j in range(n_out):
            row = wo + j * n_in
            s0 = cast_like(theta, 0.0)
            s1 = s0
            s2 = s0
            s3 = s0
            for k in range(n_in):
                w = theta[row + k]
                s0 += w * A[0, ai + k]
                s1 += w * A[1, ai + k]
                s2 += w * A[2, ai + k]
                s3 += w * A[3, ai + k]
            bj = theta[bo + j]
            Z[0, zo + j] = s0 + bj
            Z[1, zo + j] = s1 + bj
            Z[2, zo + j] = s2 + bj
            Z[3, zo + j] = s3 + bj
        for b in range(4):
            act.activate(tab[ACT, l], Z[b], A[b], zo, n_out)
            if dropout:
                drop_layer(tab, A[b], M[b], l + 1, drop, step + b)


@jit
def backward_accumulate4(theta, tab, Z, A, D, M, grad, dropout):
    """Recursive deltas of the four examples (output deltas in D) and their summed
    gradient added to grad."""
    for l in range(tab.shape[1] - 2, -1, -1):
        n_in, n_out, wo, bo, ai, do = offsets(tab, l)
        if l > 0:
            for b in range(4):
                zero(D[b], ai, n_in)
        for j in range(n_out):
            row = wo + j * n_in
            d0 = D[0, do + j]
            d1 = D[1, do + j]
            d2 = D[2, do + j]
            d3 = D[3, do + j]
            if l > 0:
                for k in range(n_in):
                    w = theta[row + k]
                    D[0, ai + k] += w * d0
                    D[1, ai + k] += w * d1
                    D[2, ai + k] += w * d2
                    D[3, ai + k] += w * d3
            for k in range(n_in):
                grad[row + k] += (d0 * A[0, ai + k] + d1 * A[1, ai + k]
                                  + d2 * A[2, ai + k] + d3 * A[3, ai + k])
            grad[bo + j] += d0 + d1 + d2 + d3
        if l > 0:
            for b in range(4):
                hidden_derivative(tab, Z[b], A[b], D[b], M[b], l, dropout)
