"""Optimisers in the kernels: classical momentum, Nesterov momentum and Adam.

Plain SGD runs through ``fastbp.kernels.epoch`` (its fused sweep is the fastest path).
The other optimisers keep their state in flat arrays laid out like theta (``OptState``)
and update each parameter from its gradient g, in the conventions of scikit-learn's MLP
(``sklearn.neural_network._stochastic_optimizers``):

- momentum:  v = mu v - lr g;  theta += v
- nesterov:  v = mu v - lr g;  theta += mu v - lr g
- adam:      t += 1;  lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
             m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
             theta -= lr_t m / (sqrt(v) + eps)

g is the example's gradient (per-example SGD) or the mini-batch's mean gradient, plus
l2 * W on the weights. One step is one example or one mini-batch; Adam's t counts steps.
The backward sweep reads a weight row for delta^l, then updates it from L1 cache.

Dropout (inverted) also runs here: hidden unit u of layer l is kept for example number s
of the fit when uniform(seed, s, u) < keep[l], and its activation is then scaled by
scale[l] = 1 / keep[l] (else set to 0). uniform is a counter-based hash (splitmix64), so
the masks need no stored state and ``fastbp.baseline`` can draw exactly the same ones.
"""
import math
from typing import NamedTuple

import numpy as np

from ._jit import borrow, jit
from .kernels import (U, _backward_accumulate, _forward, _hidden_derivative, _layer_forward,
                      _load_row, _output_delta, _zero, cast_like)
from .layout import B_OFF, SIZES, U_OFF, W_OFF

SGD = 0
MOMENTUM = 1
NESTEROV = 2
ADAM = 3
CODES = {"sgd": SGD, "momentum": MOMENTUM, "nesterov": NESTEROV, "adam": ADAM}

# positions in OptState.hp
LR, L2, MU, BETA1, BETA2, EPS = range(6)


class OptState(NamedTuple):
    """An optimiser and its state, as kernels see it.

    code: optimiser code. hp: (6,) array of theta's dtype: lr, l2, momentum, beta1, beta2,
    eps. m: velocity (momentum, nesterov) or first moment (adam), theta's layout.
    v: second moment (adam; empty otherwise). t: int64 (1,), Adam's step count.
    """

    code: int
    hp: np.ndarray
    m: np.ndarray
    v: np.ndarray
    t: np.ndarray


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



@jit
def uniform(seed, step, unit):
    """A uniform number in [0, 1) from (seed, step, unit): splitmix64 of their mix."""
    x = U(seed) * U(0x9E3779B97F4A7C15) + U(step) * U(0xD1B54A32D192ED03) + U(unit)
    x = x + U(0x9E3779B97F4A7C15)
    x = (x ^ (x >> U(30))) * U(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> U(27))) * U(0x94D049BB133111EB)
    x = x ^ (x >> U(31))
    return (x >> U(11)) * (1.0 / 9007199254740992.0)


@jit
def _forward_dropout(theta, tab, z, a, mask, keep, scale, seed, step):
    """Forward pass of the example in a^0 with inverted dropout on the hidden layers."""
    n_layers = tab.shape[1]
    for l in range(n_layers - 1):
        _layer_forward(theta, tab, z, a, l)
        h = l + 1
        if h < n_layers - 1:
            o = U(tab[U_OFF, h])
            kp = keep[h]
            sc = scale[h]
            for k in range(U(tab[SIZES, h])):
                m = sc if uniform(seed, step, o + k) < kp else sc * 0.0
                mask[o + k] = m
                a[o + k] *= m


def make_state(optimizer, n_params, dtype, lr, l2=0.0, momentum=0.9, beta1=0.9, beta2=0.999,
               eps=1e-8):
    """A fresh OptState (zero moments, t = 0)."""
    code = CODES[optimizer]
    hp = np.array([lr, l2, momentum, beta1, beta2, eps], dtype=dtype)
    m = np.zeros(n_params if code != SGD else 0, dtype=dtype)
    v = np.zeros(n_params if code == ADAM else 0, dtype=dtype)
    return OptState(code, hp, m, v, np.zeros(1, dtype=np.int64))


@jit
def _dropout_on(keep):
    """True when some layer keeps fewer than all of its units."""
    for l in range(keep.shape[0]):
        if keep[l] < 1.0:
            return True
    return False


@jit
def _train_forward(theta, tab, z, a, mask, keep, scale, seed, counter, dropout):
    """Training forward pass of the example in a^0 (with dropout when ``dropout``); counts it
    in ``counter[0]``, the example number that seeds the next dropout masks."""
    if dropout:
        _forward_dropout(theta, tab, z, a, mask, keep, scale, seed, counter[0])
    else:
        _forward(theta, tab, z, a)
    counter[0] += 1


@jit
def _adam_lr(hp, t):
    """lr_t of Adam's step number t (1-based), in theta's dtype."""
    b1 = hp[BETA1]
    b2 = hp[BETA2]
    return cast_like(hp, hp[LR] * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t))


@jit
def _sweep_layer(code, theta, m, v, wo, bo, n_in, n_out, delta, do, a, ai, back,
                 lr, l2, mu, b1, b2, c1, c2, eps, lr_t):
    """For each row j of one layer: delta^l += W[j]^T delta^(l+1)_j (old weights) when
    ``back``, then the optimiser's update of W[j] (gradient delta_j a + l2 W) and b_j.

    One loop body per optimiser, each reading a weight once and writing it once."""
    for j in range(n_out):
        dj = delta[do + j]
        row = wo + j * n_in
        if code == SGD:
            for k in range(n_in):
                p = row + k
                w = theta[p]
                if back:
                    delta[ai + k] += w * dj
                theta[p] = w - lr * (dj * a[ai + k] + l2 * w)
        elif code == MOMENTUM:
            for k in range(n_in):
                p = row + k
                w = theta[p]
                if back:
                    delta[ai + k] += w * dj
                vel = mu * m[p] - lr * (dj * a[ai + k] + l2 * w)
                m[p] = vel
                theta[p] = w + vel
        elif code == NESTEROV:
            for k in range(n_in):
                p = row + k
                w = theta[p]
                if back:
                    delta[ai + k] += w * dj
                g = dj * a[ai + k] + l2 * w
                vel = mu * m[p] - lr * g
                m[p] = vel
                theta[p] = w + (mu * vel - lr * g)
        else:  # ADAM
            # two loops: with delta in the same loop there are too many arrays for LLVM's
            # runtime alias checks and the update stays scalar (10x slower)
            if back:
                for k in range(n_in):
                    delta[ai + k] += theta[row + k] * dj
            for k in range(n_in):
                p = row + k
                w = theta[p]
                g = dj * a[ai + k] + l2 * w
                mp = b1 * m[p] + c1 * g
                vp = b2 * v[p] + c2 * (g * g)
                m[p] = mp
                v[p] = vp
                theta[p] = w - lr_t * mp / (math.sqrt(vp) + eps)


@jit
def _update_bias(code, theta, m, v, bo, n_out, delta, do, lr, mu, b1, b2, c1, c2, eps, lr_t):
    for j in range(n_out):
        p = bo + j
        g = delta[do + j]
        if code == SGD:
            theta[p] -= lr * g
        elif code == MOMENTUM:
            m[p] = mu * m[p] - lr * g
            theta[p] += m[p]
        elif code == NESTEROV:
            m[p] = mu * m[p] - lr * g
            theta[p] += mu * m[p] - lr * g
        else:
            m[p] = b1 * m[p] + c1 * g
            v[p] = b2 * v[p] + c2 * (g * g)
            theta[p] -= lr_t * m[p] / (math.sqrt(v[p]) + eps)


@jit
def _backward_update_opt(theta, tab, z, a, delta, mask, dropout, code, hp, m, v, lr_t):
    """Recursive deltas, then each weight row and bias updated by the optimiser."""
    lr = hp[LR]
    l2 = hp[L2]
    mu = hp[MU]
    b1 = hp[BETA1]
    b2 = hp[BETA2]
    c1 = cast_like(theta, 1.0) - b1  # all in theta's dtype: mixed float32/float64 arithmetic
    c2 = cast_like(theta, 1.0) - b2  # would convert every element and slow the loop down
    eps = hp[EPS]
    for l in range(tab.shape[1] - 2, -1, -1):
        n_in = U(tab[SIZES, l])
        n_out = U(tab[SIZES, l + 1])
        wo = U(tab[W_OFF, l])
        bo = U(tab[B_OFF, l])
        ai = U(tab[U_OFF, l])
        do = U(tab[U_OFF, l + 1])
        if l > 0:
            _zero(delta, ai, n_in)
            _sweep_layer(code, theta, m, v, wo, bo, n_in, n_out, delta, do, a, ai, True,
                         lr, l2, mu, b1, b2, c1, c2, eps, lr_t)
        else:
            _sweep_layer(code, theta, m, v, wo, bo, n_in, n_out, delta, do, a, ai, False,
                         lr, l2, mu, b1, b2, c1, c2, eps, lr_t)
        _update_bias(code, theta, m, v, bo, n_out, delta, do, lr, mu, b1, b2, c1, c2, eps,
                     lr_t)
        if l > 0:
            _hidden_derivative(tab, z, a, delta, mask, l, ai, n_in, dropout)


@jit
def _step_range(code, theta, m, v, grad, start, n, scale, l2, hp, lr_t):
    """The optimiser's update of theta[start:start+n] from g = grad * scale + l2 * theta,
    zeroing grad; one loop body per optimiser (the branch stays outside the loop)."""
    lr = hp[LR]
    mu = hp[MU]
    b1 = hp[BETA1]
    b2 = hp[BETA2]
    c1 = cast_like(theta, 1.0) - b1
    c2 = cast_like(theta, 1.0) - b2
    eps = hp[EPS]
    if code == SGD:
        for k in range(n):
            p = start + k
            theta[p] -= lr * (grad[p] * scale + l2 * theta[p])
            grad[p] = 0.0
    elif code == MOMENTUM:
        for k in range(n):
            p = start + k
            vel = mu * m[p] - lr * (grad[p] * scale + l2 * theta[p])
            m[p] = vel
            theta[p] += vel
            grad[p] = 0.0
    elif code == NESTEROV:
        for k in range(n):
            p = start + k
            g = grad[p] * scale + l2 * theta[p]
            vel = mu * m[p] - lr * g
            m[p] = vel
            theta[p] += mu * vel - lr * g
            grad[p] = 0.0
    else:  # ADAM
        for k in range(n):
            p = start + k
            g = grad[p] * scale + l2 * theta[p]
            mp = b1 * m[p] + c1 * g
            vp = b2 * v[p] + c2 * (g * g)
            m[p] = mp
            v[p] = vp
            theta[p] -= lr_t * mp / (math.sqrt(vp) + eps)
            grad[p] = 0.0


@jit
def _apply_gradient_opt(theta, tab, grad, code, hp, m, v, lr_t, mb):
    """One optimiser step from the summed gradient of mb examples in grad; zeroes grad."""
    scale = cast_like(theta, 1.0) / cast_like(theta, mb)
    zero = cast_like(theta, 0.0)
    for l in range(tab.shape[1] - 1):
        n_out = U(tab[SIZES, l + 1])
        _step_range(code, theta, m, v, grad, U(tab[W_OFF, l]), n_out * U(tab[SIZES, l]), scale,
                     hp[L2], hp, lr_t)
        _step_range(code, theta, m, v, grad, U(tab[B_OFF, l]), n_out, scale, zero, hp, lr_t)


@jit
def epoch(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    """One pass over the rows ``order`` with the optimiser ``opt`` (an ``OptState``) and
    dropout ``drop`` (a ``Dropout``; keep all ones for none).

    Same semantics as ``fastbp.kernels.epoch``; updates theta, opt's state and drop's
    counter in place and returns the summed cost of the examples, each measured before
    its own update (with dropout active).
    """
    theta = borrow(theta)
    X = borrow(X)
    Y = borrow(Y)
    order = borrow(order)
    tab = borrow(spec.table)
    loss_code = spec.loss
    z = borrow(ws.z)
    a = borrow(ws.a)
    delta = borrow(ws.delta)
    grad = borrow(ws.grad)
    hp = borrow(opt.hp)
    m = borrow(opt.m)
    v = borrow(opt.v)
    t = opt.t
    code = opt.code
    mask = borrow(ws.mask)
    keep = borrow(drop.keep)
    scale = borrow(drop.scale)
    seed = drop.seed
    counter = drop.counter
    dropout = _dropout_on(keep)
    n0 = U(tab[SIZES, 0])
    n = order.shape[0]
    total = 0.0
    lr_t = hp[LR]  # Adam's bias-corrected rate, in theta's dtype
    if batch_size == 1:
        for s in range(n):
            i = U(order[s])
            _load_row(a, X, i, n0)
            _train_forward(theta, tab, z, a, mask, keep, scale, seed, counter, dropout)
            total += _output_delta(tab, loss_code, z, a, delta, Y, i)
            if code == ADAM:
                t[0] += 1
                lr_t = _adam_lr(hp, t[0])
            _backward_update_opt(theta, tab, z, a, delta, mask, dropout, code, hp, m, v, lr_t)
        return total
    _zero(grad, U(0), U(grad.shape[0]))
    start = 0
    while start < n:
        stop = min(start + batch_size, n)
        for s in range(start, stop):
            i = U(order[s])
            _load_row(a, X, i, n0)
            _train_forward(theta, tab, z, a, mask, keep, scale, seed, counter, dropout)
            total += _output_delta(tab, loss_code, z, a, delta, Y, i)
            _backward_accumulate(theta, tab, z, a, delta, grad, mask, dropout)
        if code == ADAM:
            t[0] += 1
            lr_t = _adam_lr(hp, t[0])
        _apply_gradient_opt(theta, tab, grad, code, hp, m, v, lr_t, stop - start)
        start = stop
    return total


@jit
def step(theta, spec, ws, opt, drop, x, y):
    """One per-example step on (x, y) with the optimiser ``opt`` and dropout ``drop`` (keep
    all ones for none), for user ``@njit`` code; returns the example's cost before the step."""
    tab = borrow(spec.table)
    z = borrow(ws.z)
    a = borrow(ws.a)
    delta = borrow(ws.delta)
    mask = borrow(ws.mask)
    keep = borrow(drop.keep)
    hp = borrow(opt.hp)
    th = borrow(theta)
    xb = borrow(x)
    for k in range(U(tab[SIZES, 0])):
        a[k] = xb[k]
    dropout = _dropout_on(keep)
    _train_forward(th, tab, z, a, mask, keep, borrow(drop.scale), drop.seed, drop.counter,
                   dropout)
    cost = _output_delta(tab, spec.loss, z, a, delta, borrow(y).reshape((1, y.shape[0])), U(0))
    lr_t = hp[LR]
    if opt.code == ADAM:
        opt.t[0] += 1
        lr_t = _adam_lr(hp, opt.t[0])
    _backward_update_opt(th, tab, z, a, delta, mask, dropout, opt.code, hp, borrow(opt.m),
                         borrow(opt.v), lr_t)
    return cost
