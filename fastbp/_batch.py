"""Building blocks for mini-batches: each layer of the whole batch as matrix products.

A batch of nb examples (nb a multiple of four; the epoch pads a batch with zero rows whose
output deltas are zero, so they add nothing) lives in the rows of Z, A, D, M (nb, width:
n_units rounded up to whole cache lines, every row on a line: ``batch_scratch``).
Every product is register-blocked four by four, written so that LLVM vectorises its inner
loop over the contiguous index:

- forward, Z^(l+1) = A^l (W^l)^T: four rows of W^l by four examples, sixteen dot products
  sharing each load of a weight and of an activation (``dots4x4``);
- deltas, D^l = D^(l+1) W^l, and gradient, grad(W^l) += (D^(l+1))^T A^l: four rows of the
  result each updated with four rows of the other operand (``rank4``): per vector of
  results, 4 + 4 loads and 4 stores feed 16 fused multiply-adds. A layer's last 1-3 rows
  of W (n_out not a multiple of four) take the one-row forms ``rank4x1`` and ``rank1``.

Then each block of four rows of W^l gets its optimiser step (``mean_step``) from its
gradient summed in a scratch S that stays in L1 cache: no gradient array is swept.

``forward_batch`` and ``backward_update_batch`` are blocks, inlined into each mini-batch
pass (``epochs._batches_pass``), whose constant optimiser code and dropout flag fold their
branches. As compiled functions of their own, called with those flags as run-time values,
each was compiled (and optimised by LLVM) once on its own and once more inside the pass,
with its dropout code: a first batch_size=32 fit after a plain one took 3.7-3.9 s against
3.2-3.4 now (fresh cache, 2-4-1, one pinned core; the same machine code speed, the same
numbers bit for bit).

The five products themselves are ``_jit.internal`` helpers (compiled once per dtype and
called), not blocks: inlined, numba typed, lowered and LLVM optimised each copy inside the
pass (``rank4`` twice), and with plain SGD's mean step out of line too
(``_blocks.sgd_mean``) the pass's IR went from 4697 to 2421 numba IR statements. A first
batch_size=32 fit after a plain one (fresh cache, 2-4-1, one pinned core, alternating
fresh processes) 2.48-2.53 -> 1.80-1.96 s. LLVM optimises them in the pass's module only
(``_inlining.LinkOnlyLibrary``), where they are inlined, bit for bit as blocks were. They
are ``noalias`` (``_inlining.NoAliasCompiler``): the array each writes (Z, the deltas D,
the scratch S) never overlaps the ones it reads (theta, A), all in the pass's own block.

Measured (``kernels.epoch`` at batch 32, thread time on one pinned core, µs per example,
the four-example blocks these replace -> these, with the mean taken as x * (1 / s)):
784-100-10 13.4 -> 7.8 (float64), 7.9 -> 4.2 (float32); 784-512-512-10 170 -> 86,
88 -> 40; 64-32-10 0.73 -> 0.50, 0.49 -> 0.39. The products alone run at 35-46 GFLOP/s
(float64) and 66-86 (float32) against a single-thread GEMM peak of 67 and 148 (BLAS uses
512-bit vectors; a "prefer-vector-width"="512" attribute on these kernels was no faster).
"""
from functools import partial

import numpy as np

from . import activations as act
from ._blocks import drop_layer, hidden_derivative, mean_step, offsets, zero
from ._jit import U, borrow, cast_like, flat, inline, internal
from .layout import ACT, ALIGN, to_line, whole_lines

ONE, TWO, THREE, FOUR = U(1), U(2), U(3), U(4)


@inline
def batch_scratch(theta, rows, n_units):
    """The zeroed scratch of a mini-batch pass: (buf, first, width), five planes of ``rows``
    rows of ``width`` entries (n_units rounded up to whole cache lines) from buf[first] on,
    every row starting on a cache line (the pass takes Z, A, D, M and S from them with
    ``_jit.rows_of``). With rows of n_units on NumPy's alignment (64-32-10: 106 float32
    entries, 424 bytes) most vector loads of a row straddled two lines; per example at batch
    32 (``kernels.epoch``, pinned, alternating processes, the same numbers bit for bit):
    64-32-10 float32 0.171-0.209 -> 0.162-0.182 µs, float64 0.230-0.237 -> 0.208-0.209,
    784-100-10 float32 1.81-1.83 -> 1.68-1.69, float64 4.09-4.50 -> 3.78-3.92, 784-512-512-10
    float32 17.9-19.0 -> 16.2-16.6, float64 37.0-40.8 -> 35.2-35.3, 2-4-1 equal."""
    width = whole_lines(n_units, theta.itemsize)
    buf = np.zeros(5 * rows * width + ALIGN // theta.itemsize, dtype=theta.dtype)
    return buf, np.int64(to_line(buf.ctypes.data)) // theta.itemsize, width


@partial(internal, noalias=True)
def dots4x4(theta, w0, n_in, A, b, ai, Z, zo, bo):
    """Z[b + e, zo + r] = W[r] . A[b + e] + bias[r] for four rows r of W (the first at
    theta[w0], the bias at theta[bo]) and four examples e."""
    w1, w2, w3 = w0 + n_in, w0 + TWO * n_in, w0 + THREE * n_in
    s00 = cast_like(theta, 0.0)
    s01 = s02 = s03 = s10 = s11 = s12 = s13 = s00
    s20 = s21 = s22 = s23 = s30 = s31 = s32 = s33 = s00
    for k in range(n_in):
        x0 = A[b, ai + k]
        x1 = A[b + ONE, ai + k]
        x2 = A[b + TWO, ai + k]
        x3 = A[b + THREE, ai + k]
        v = theta[w0 + k]
        s00 += v * x0
        s01 += v * x1
        s02 += v * x2
        s03 += v * x3
        v = theta[w1 + k]
        s10 += v * x0
        s11 += v * x1
        s12 += v * x2
        s13 += v * x3
        v = theta[w2 + k]
        s20 += v * x0
        s21 += v * x1
        s22 += v * x2
        s23 += v * x3
        v = theta[w3 + k]
        s30 += v * x0
        s31 += v * x1
        s32 += v * x2
        s33 += v * x3
    store4(theta, bo, A, b, Z, zo, s00, s01, s02, s03)
    store4(theta, bo + ONE, A, b, Z, zo + ONE, s10, s11, s12, s13)
    store4(theta, bo + TWO, A, b, Z, zo + TWO, s20, s21, s22, s23)
    store4(theta, bo + THREE, A, b, Z, zo + THREE, s30, s31, s32, s33)


@inline
def store4(theta, bo, A, b, Z, zo, s0, s1, s2, s3):
    """Z[b + e, zo] = s_e + the bias theta[bo], for four examples e."""
    bias = theta[bo]
    Z[b, zo] = s0 + bias
    Z[b + ONE, zo] = s1 + bias
    Z[b + TWO, zo] = s2 + bias
    Z[b + THREE, zo] = s3 + bias


@partial(internal, noalias=True)
def dots4x1(theta, w0, n_in, A, b, ai, Z, zo, bo):
    """``dots4x4`` for one row of W."""
    s0 = cast_like(theta, 0.0)
    s1 = s2 = s3 = s0
    for k in range(n_in):
        v = theta[w0 + k]
        s0 += v * A[b, ai + k]
        s1 += v * A[b + ONE, ai + k]
        s2 += v * A[b + TWO, ai + k]
        s3 += v * A[b + THREE, ai + k]
    store4(theta, bo, A, b, Z, zo, s0, s1, s2, s3)


@partial(internal, noalias=True)
def rank4(C, c0, cs, Q, q0, qs, n, d00, d01, d02, d03, d10, d11, d12, d13,
          d20, d21, d22, d23, d30, d31, d32, d33):
    """Row r of C (at C[c0 + r * cs], n entries) += sum_e d_re * row e of Q (at
    Q[q0 + e * qs]), for r, e in 0..3."""
    c1, c2, c3 = c0 + cs, c0 + TWO * cs, c0 + THREE * cs
    q1, q2, q3 = q0 + qs, q0 + TWO * qs, q0 + THREE * qs
    for k in range(n):
        x0 = Q[q0 + k]
        x1 = Q[q1 + k]
        x2 = Q[q2 + k]
        x3 = Q[q3 + k]
        C[c0 + k] += d00 * x0 + d01 * x1 + d02 * x2 + d03 * x3
        C[c1 + k] += d10 * x0 + d11 * x1 + d12 * x2 + d13 * x3
        C[c2 + k] += d20 * x0 + d21 * x1 + d22 * x2 + d23 * x3
        C[c3 + k] += d30 * x0 + d31 * x1 + d32 * x2 + d33 * x3


@partial(internal, noalias=True)
def rank1(C, c0, Q, q0, qs, n, d0, d1, d2, d3):
    """One row of C (at C[c0], n entries) += sum_e d_e * row e of Q (at Q[q0 + e * qs]),
    e in 0..3: ``rank4`` for a block's last 1-3 rows of the gradient."""
    q1, q2, q3 = q0 + qs, q0 + TWO * qs, q0 + THREE * qs
    for k in range(n):
        C[c0 + k] += d0 * Q[q0 + k] + d1 * Q[q1 + k] + d2 * Q[q2 + k] + d3 * Q[q3 + k]


@partial(internal, noalias=True)
def rank4x1(C, c0, cs, Q, q0, n, d0, d1, d2, d3):
    """Row r of C (at C[c0 + r * cs]) += d_r * one row of Q (at Q[q0]), r in 0..3:
    ``rank4`` for the deltas of a layer's last 1-3 rows of W."""
    c1, c2, c3 = c0 + cs, c0 + TWO * cs, c0 + THREE * cs
    for k in range(n):
        x = Q[q0 + k]
        C[c0 + k] += d0 * x
        C[c1 + k] += d1 * x
        C[c2 + k] += d2 * x
        C[c3 + k] += d3 * x


@inline
def forward_batch(theta, tab, Z, A, M, nb, drop, step, dropout):
    """Forward pass of examples 0..nb-1 (inputs in A[b, 0:n0]); example b is number
    step + b for dropout. Four rows of W^l stay in L1 cache while every example passes.

    An example's rows are handed to the per-example functions (activations, derivatives,
    loss) borrowed, as the per-example path hands its workspace: with the same argument
    types they reuse its compiled code (a row view's own type compiled them again: the
    mini-batch path's first compile took 9.6 instead of 7.8 s)."""
    nb4 = U(nb)
    for l in range(tab.shape[1] - 1):
        n_in, n_out, wo, bo, ai, zo = offsets(tab, l)
        j = U(0)
        while j + FOUR <= n_out:
            for b in range(U(0), nb4, FOUR):
                dots4x4(theta, wo + j * n_in, n_in, A, b, ai, Z, zo + j, bo + j)
            j += FOUR
        while j < n_out:
            for b in range(U(0), nb4, FOUR):
                dots4x1(theta, wo + j * n_in, n_in, A, b, ai, Z, zo + j, bo + j)
            j += ONE
        for b in range(nb):
            act.activate(tab[ACT, l], borrow(Z[b]), borrow(A[b]), zo, n_out)
            if dropout:
                drop_layer(tab, A[b], M[b], l + 1, drop, step + b)


@inline
def backward_update_batch(code, theta, m, v, k, l2, tab, Z, A, D, M, S, nb, mb, dropout):
    """Recursive deltas of examples 0..nb-1 (output deltas in D) and one optimiser step
    (``mean_step``, rule ``code`` with scalars ``k``) with their gradient's sum over mb
    examples (the batch without its zero padding), layers
    L-2 .. 0. Each row block's gradient is summed in the scratch S (zero on entry and on
    return) and applied at once, while W^l's old values have already fed delta^l. Z, A,
    D, M are C-contiguous (at least nb rows, at least n_units columns); theta and S flat, S of
    at least 4 n_units."""
    nb4 = U(nb)
    nu = U(D.shape[1])
    o = cast_like(theta, 0.0)
    mf = cast_like(theta, mb)
    Df = flat(D)
    Af = flat(A)
    for l in range(tab.shape[1] - 2, -1, -1):
        n_in, n_out, wo, bo, ai, do = offsets(tab, l)
        if l > 0:
            # D^l = D^(l+1) W^l: four examples' delta rows, each plus four rows of W^l
            for b in range(nb):
                zero(D[b], ai, n_in)
            for b in range(U(0), nb4, FOUR):
                c0 = b * nu + ai
                j = U(0)
                while j + FOUR <= n_out:
                    p = b * nu + do + j
                    rank4(Df, c0, nu, theta, wo + j * n_in, n_in, n_in,
                          Df[p], Df[p + ONE], Df[p + TWO], Df[p + THREE],
                          Df[p + nu], Df[p + nu + ONE], Df[p + nu + TWO], Df[p + nu + THREE],
                          Df[p + TWO * nu], Df[p + TWO * nu + ONE], Df[p + TWO * nu + TWO],
                          Df[p + TWO * nu + THREE],
                          Df[p + THREE * nu], Df[p + THREE * nu + ONE], Df[p + THREE * nu + TWO],
                          Df[p + THREE * nu + THREE])
                    j += FOUR
                while j < n_out:
                    rank4x1(Df, c0, nu, theta, wo + j * n_in, n_in, D[b, do + j],
                            D[b + ONE, do + j], D[b + TWO, do + j], D[b + THREE, do + j])
                    j += ONE
        # grad(W^l) = (D^(l+1))^T A^l, four rows at a time: each row of S plus four
        # examples' activation rows, then the step on those four rows of W^l
        j = U(0)
        while j < n_out:
            rows = min(FOUR, n_out - j)
            for b in range(U(0), nb4, FOUR):
                p = b * nu + do + j
                if rows == FOUR:
                    rank4(S, U(0), n_in, Af, b * nu + ai, nu, n_in,
                          Df[p], Df[p + nu], Df[p + TWO * nu], Df[p + THREE * nu],
                          Df[p + ONE], Df[p + nu + ONE], Df[p + TWO * nu + ONE],
                          Df[p + THREE * nu + ONE],
                          Df[p + TWO], Df[p + nu + TWO], Df[p + TWO * nu + TWO],
                          Df[p + THREE * nu + TWO],
                          Df[p + THREE], Df[p + nu + THREE], Df[p + TWO * nu + THREE],
                          Df[p + THREE * nu + THREE])
                else:
                    for r in range(rows):
                        rank1(S, r * n_in, Af, b * nu + ai, nu, n_in, Df[p + r],
                              Df[p + nu + r], Df[p + TWO * nu + r], Df[p + THREE * nu + r])
            mean_step(code, theta, m, v, k, l2, wo + j * n_in, rows * n_in, S, U(0), mf)
            j += rows
        for j in range(n_out):
            t = o
            for b in range(nb):
                t += D[b, do + j]
            S[j] = t
        mean_step(code, theta, m, v, k, o, bo, n_out, S, U(0), mf)
        if l > 0:
            for b in range(nb):
                hidden_derivative(tab, borrow(Z[b]), borrow(A[b]), borrow(D[b]), borrow(M[b]), l,
                                  dropout)
