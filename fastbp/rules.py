"""Optimisers: their codes, their state and one inline scalar update rule each.

The rules follow scikit-learn's MLP (``sklearn.neural_network._stochastic_optimizers``).
For one parameter w with gradient g (the example's gradient in per-example SGD, the
mini-batch's mean gradient otherwise, plus l2 * w on weights):

- sgd:       w -= lr g
- momentum:  v = mu v - lr g;  w += v
- nesterov:  v = mu v - lr g;  w += mu v - lr g
- adam:      t += 1;  lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
             m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2
             w -= lr_t m / (sqrt(v) + eps)

One step is one example or one mini-batch; Adam's t counts steps. The state lives in flat
arrays laid out like theta (``OptState``). The loops that apply a rule to a row of
weights are in ``fastbp._blocks.optimizer_rows``, the only place that tells the stateful
optimisers apart (they read the code from ``Consts.code``).

To add an optimiser: a code and its name in ``CODES``, its state in ``make_state``, its
rule here, one branch in ``_blocks.optimizer_rows``, and its mirror in ``fastbp.baseline``.
"""
import math
from typing import NamedTuple

import numpy as np

from ._jit import cast_like, inline, internal

SGD = 0
MOMENTUM = 1
NESTEROV = 2
ADAM = 3
CODES = {"sgd": SGD, "momentum": MOMENTUM, "nesterov": NESTEROV, "adam": ADAM}
#: the code a compiled pass hands its blocks when it serves every stateful optimiser: a
#: constant, so the blocks' ``code != SGD`` branches fold before numba inlines and types
#: them (``fastbp._inlining``); their rule kernels read the optimiser from ``Consts.code``
STATEFUL = -1

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


def make_state(optimizer, n_params, dtype, lr, l2=0.0, momentum=0.9, beta1=0.9, beta2=0.999,
               eps=1e-8):
    """A fresh OptState (zero moments, t = 0)."""
    code = CODES[optimizer]
    hp = np.array([lr, l2, momentum, beta1, beta2, eps], dtype=dtype)
    m = np.zeros(n_params if code != SGD else 0, dtype=dtype)
    v = np.zeros(n_params if code == ADAM else 0, dtype=dtype)
    return OptState(code, hp, m, v, np.zeros(1, dtype=np.int64))


class Consts(NamedTuple):
    """The scalars every rule may read, in theta's dtype, read out of ``hp`` once per step
    (a load from hp inside a loop could alias theta and would not be hoisted)."""

    lr: float
    mu: float
    b1: float
    b2: float
    c1: float  # 1 - beta1
    c2: float  # 1 - beta2
    eps: float
    lr_t: float  # Adam's bias-corrected rate of the current step
    code: int  # the optimiser's code (int64)


@internal
def consts(code, hp, t):
    """The rules' scalars of optimiser ``code`` for Adam step number t (1-based; any value
    for the others)."""
    b1 = hp[BETA1]
    b2 = hp[BETA2]
    one = cast_like(hp, 1.0)  # 1 - beta in theta's dtype, as the rule's other scalars
    lr_t = hp[LR]
    if t > 0:
        lr_t = cast_like(hp, hp[LR] * math.sqrt(1.0 - b2 ** t) / (1.0 - b1 ** t))
    return Consts(hp[LR], hp[MU], b1, b2, one - b1, one - b2, hp[EPS], lr_t, np.int64(code))


@inline
def sgd_consts(like, lr):
    """``consts`` of plain SGD at rate ``lr``, which reads lr alone (the other scalars zero,
    in ``like``'s dtype): for the kernels and passes whose optimiser is the constant
    ``SGD``, which then compile neither ``consts`` nor Adam's powers (0.05 s of each
    dtype's first fit)."""
    zero = cast_like(like, 0.0)
    return Consts(lr, zero, zero, zero, zero, zero, zero, lr, np.int64(SGD))


@internal
def next_consts(opt):
    """The rules' scalars for the next step of the ``OptState`` opt (Adam: counts the
    step in opt.t first)."""
    t = 0
    if opt.code == ADAM:
        opt.t[0] += 1
        t = opt.t[0]
    return consts(opt.code, opt.hp, t)


@inline
def sgd(w, g, lr):
    return w - lr * g


@inline
def momentum(w, g, m, k):
    """(new w, new velocity)."""
    vel = k.mu * m - k.lr * g
    return w + vel, vel


@inline
def nesterov(w, g, m, k):
    """(new w, new velocity)."""
    vel = k.mu * m - k.lr * g
    return w + (k.mu * vel - k.lr * g), vel


@inline
def adam(w, g, m, v, k):
    """(new w, new first moment, new second moment)."""
    mp = k.b1 * m + k.c1 * g
    vp = k.b2 * v + k.c2 * (g * g)
    return w - k.lr_t * mp / (math.sqrt(vp) + k.eps), mp, vp
