"""Numerical gradient checking: backpropagation against central differences on theta.

For each checked entry i the derivative of J = ``net.loss(X, Y, l2)`` along e_i is taken
by central differences: the classic two-point formula

    (J(theta + eps e_i) - J(theta - eps e_i)) / (2 eps)                      (points=2)

or, by default, its fourth-order Richardson refinement

    (8 [J(+eps) - J(-eps)] - [J(+2 eps) - J(-2 eps)]) / (12 eps)             (points=4)

whose truncation error is O(eps^4) instead of O(eps^2), so a larger eps (less rounding
noise) can be used. J is evaluated in float64 (a float32 network is checked through a
float64 copy of itself, because float32 differences cannot resolve 1e-7).
The result is the maximum over checked entries of

    |g_num[i] - g_bp[i]| / max(|g_num[i]|, |g_bp[i]|, floor)

``floor`` keeps entries whose true gradient is (near) zero from dividing rounding noise by
zero: below it the error is measured in absolute terms scaled by ``floor``.
"""
import numpy as np

from . import _validation as v


def numerical_gradient(net, X, Y, eps=1e-3, l2=0.0, indices=None, points=4):
    """Central-difference gradient of ``net.loss(X, Y, l2)`` at net.theta (float64 array).

    Only the entries in ``indices`` (all by default) are computed; others are NaN.
    ``points`` is 2 (classic) or 4 (fourth order). theta is restored exactly afterwards.
    """
    if points not in (2, 4):
        raise ValueError(f"points must be 2 or 4, got {points!r}")
    theta = net.theta
    if indices is None:
        indices = np.arange(theta.shape[0])
    g = np.full(theta.shape[0], np.nan)

    def J(i, old, step):
        theta[i] = old + step
        return net.loss(X, Y, l2)

    for i in indices:
        old = theta[i]
        d1 = J(i, old, eps) - J(i, old, -eps)
        if points == 2:
            g[i] = d1 / (2 * eps)
        else:
            d2 = J(i, old, 2 * eps) - J(i, old, -2 * eps)
            g[i] = (8 * d1 - d2) / (12 * eps)
        theta[i] = old
    return g


def gradcheck(net, X, Y, eps=1e-3, l2=0.0, max_params=2000, seed=0, floor=1e-6, points=4,
              return_details=False):
    """Max relative error between ``net.gradient`` and central differences.

    Checks every entry of theta when there are at most ``max_params`` of them, otherwise a
    seeded random sample of ``max_params`` entries (always including the first and last
    entry of every W^l and b^l). With ``return_details`` also returns (indices, g_num, g_bp).
    """
    eps = v.check_real("eps", eps, minimum=0.0, strict=True)
    l2 = v.check_real("l2", l2, minimum=0.0)
    max_params = v.check_int("max_params", max_params)
    floor = v.check_real("floor", floor, minimum=0.0, strict=True)
    if net.dtype != np.float64:
        from .network import Network

        net64 = Network(net.sizes, hidden=list(net.hidden), output=net.output,
                        loss=net.loss_name, dtype="float64")
        net64.theta = net.theta.astype(np.float64)
        net = net64
    X, Y = net._xy(X, Y)
    n = net.n_params
    if n <= max_params:
        idx = np.arange(n)
    else:
        rng = np.random.default_rng(seed)
        ends = []
        for l in range(net.layout.n_weight_layers):
            for sl in (net.layout.weight_slice(l), net.layout.bias_slice(l)):
                ends += [sl.start, sl.stop - 1]
        idx = np.unique(np.concatenate([rng.choice(n, max_params, replace=False), ends]))
    g_bp = net.gradient(X, Y, l2)[idx]
    g_num = numerical_gradient(net, X, Y, eps, l2, idx, points)[idx]
    denom = np.maximum(np.maximum(np.abs(g_num), np.abs(g_bp)), floor)
    err = float(np.max(np.abs(g_num - g_bp) / denom))
    if return_details:
        return err, idx, g_num, g_bp
    return err
