"""The NumPy baseline: fastbp's algorithm written the way a textbook would.

Same layout as the kernels (theta is the flat thetaVec; W^l and b^l are reshaped views),
same initialisation (``fastbp.init``), same order of examples, same update rules; but
every step is plain NumPy: ``np.dot`` for the forward pass, ``W.T @ delta`` for the
recursive deltas, ``np.outer`` for the gradient, an in-place update per example. It shares
no numerical code with the kernels, which makes it the test oracle (trajectories are
compared after whole epochs) and the benchmark's reference.

Per example (layers indexed from 0):
    z^(l+1) = W^l a^l + b^l,  a^(l+1) = g(z^(l+1))
    delta^L: a - y for cross-entropy with sigmoid/softmax; (a - y) * g'(z) for mse
    delta^l = (W^l)^T delta^(l+1) * g'(z^l)
    W^l -= lr * (outer(delta^(l+1), a^l) + l2 * W^l);  b^l -= lr * delta^(l+1)
"""
import time

import numpy as np

from . import _validation as v
from . import init as _init
from . import options
from .layout import Layout

LEAKY_SLOPE = 0.01
ELU_ALPHA = 1.0


def _views(theta, layout):
    """(weights, biases) views of theta; rebuilt only when a different theta array comes in.

    A textbook implementation keeps its per-layer arrays around; rebuilding the views for
    every example would charge the baseline for bookkeeping the kernels do not do.
    """
    cached = layout.__dict__.get("_baseline_views")
    if cached is None or cached[0] is not theta:
        cached = (theta, layout.weights(theta), layout.biases(theta))
        layout._baseline_views = cached
    return cached[1], cached[2]


def activation(name, z):
    """g(z) for an activation name."""
    if name == "sigmoid":
        e = np.exp(-np.abs(z))  # never overflows
        return np.where(z >= 0, 1 / (1 + e), e / (1 + e)).astype(z.dtype)
    if name == "tanh":
        return np.tanh(z)
    if name == "relu":
        return np.where(z > 0, z, 0.0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, z, LEAKY_SLOPE * z).astype(z.dtype)
    if name == "elu":
        return np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0))).astype(z.dtype)
    if name == "softplus":
        return np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))
    if name == "softmax":
        e = np.exp(z - z.max())
        return e / e.sum()
    if name == "identity":
        return z.copy()
    raise ValueError(f"unknown activation {name!r}")


def activation_derivative(name, z, a):
    """g'(z) for an element-wise activation, given z and a = g(z)."""
    if name == "sigmoid":
        return a * (1 - a)
    if name == "tanh":
        return 1 - a * a
    if name == "relu":
        return (z > 0).astype(z.dtype)
    if name == "leaky_relu":
        return np.where(z > 0, 1.0, LEAKY_SLOPE).astype(z.dtype)
    if name == "elu":
        return np.where(z > 0, 1.0, ELU_ALPHA * np.exp(np.minimum(z, 0))).astype(z.dtype)
    if name == "softplus":
        return activation("sigmoid", z)
    if name == "identity":
        return np.ones_like(z)
    raise ValueError(f"no element-wise derivative for {name!r}")


def cost(layout, z, a, y):
    """The example's cost, computed from z where that keeps it finite."""
    out = layout.activations[-1]
    if layout.loss == "cross_entropy":
        if out == "softmax":
            m = z.max()
            lse = m + np.log(np.sum(np.exp(z - m)))
            return float(np.sum(y * (lse - z)))
        # binary cross-entropy of a sigmoid: softplus(z) - y z
        return float(np.sum(np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z))) - y * z))
    return float(0.5 * np.sum((a - y) ** 2))


def output_delta(layout, z, a, y):
    """dC/dz of the output layer."""
    out = layout.activations[-1]
    if layout.loss == "cross_entropy":
        return a - y
    e = a - y
    if out == "softmax":
        return a * (e - np.dot(e, a))
    return e * activation_derivative(out, z, a)


def uniform(seed, step, units):
    """fastbp.optim.uniform for an array of unit indices: splitmix64 in uint64 arithmetic."""
    with np.errstate(over="ignore"):
        x = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64(step) * np.uint64(0xD1B54A32D192ED03) + units.astype(np.uint64))
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


class Dropout:
    """Inverted dropout masks drawn exactly as the kernels draw them (see fastbp.optim)."""

    def __init__(self, rates, layout, dtype, seed):
        self.layout, self.seed, self.step = layout, int(seed), 0
        L = len(layout.sizes)
        self.keep = np.ones(L, dtype=dtype)
        self.keep[1:L - 1] = 1.0 - np.asarray(rates, dtype=np.float64)
        self.scale = (1.0 / self.keep.astype(np.float64)).astype(dtype)

    def mask(self, layer):
        """The mask of hidden ``layer`` for the current example (scale where kept, else 0)."""
        start = int(self.layout.u_off[layer])
        units = np.arange(start, start + self.layout.sizes[layer])
        kept = uniform(self.seed, self.step, units) < self.keep[layer]
        return np.where(kept, self.scale[layer], 0).astype(self.scale.dtype)


def forward(theta, layout, x, drop=None):
    """Lists of z^l and a^l for l = 0 .. L-1 (z^0 is None, a^0 is x), and the dropout masks
    (None where no dropout applies). With ``drop``, a^l of each hidden layer is g(z^l) times
    its mask, and the undropped g(z^l) is kept in the masks' partner list ``g``."""
    Ws, bs = _views(theta, layout)
    zs, acts, masks = [None], [x], [None]
    L = layout.n_weight_layers + 1
    for l in range(layout.n_weight_layers):
        z = np.dot(Ws[l], acts[-1]) + bs[l]
        a = activation(layout.activations[l], z)
        mask = None
        if drop is not None and l + 1 < L - 1 and drop.keep[l + 1] < 1:
            mask = drop.mask(l + 1)
        zs.append(z)
        masks.append(mask)
        acts.append(a if mask is None else a * mask)
    if drop is None:
        return zs, acts
    return zs, acts, masks


def backprop(theta, layout, x, y, drop=None):
    """(cost, nabla_W, nabla_b) of one example, as lists per weight layer."""
    Ws, _ = _views(theta, layout)
    if drop is None:
        zs, acts = forward(theta, layout, x)
        masks = [None] * len(zs)
    else:
        zs, acts, masks = forward(theta, layout, x, drop)
        drop.step += 1
    delta = output_delta(layout, zs[-1], acts[-1], y)
    c = cost(layout, zs[-1], acts[-1], y)
    nabla_W = [None] * layout.n_weight_layers
    nabla_b = [None] * layout.n_weight_layers
    for l in range(layout.n_weight_layers - 1, -1, -1):
        nabla_W[l] = np.outer(delta, acts[l])
        nabla_b[l] = delta
        if l > 0:
            name = layout.activations[l - 1]
            if masks[l] is None:
                delta = np.dot(Ws[l].T, delta) * activation_derivative(name, zs[l], acts[l])
            else:
                g = activation(name, zs[l])  # the undropped activation
                delta = np.dot(Ws[l].T, delta) * masks[l] * activation_derivative(name, zs[l], g)
    return c, nabla_W, nabla_b


class Optimizer:
    """Optimiser state for the baseline: flat m, v in theta's layout (as ``fastbp.optim``).

    name: sgd, momentum, nesterov or adam; the update rules are scikit-learn's.
    """

    def __init__(self, name, theta, layout, momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8):
        self.name, self.layout = name, layout
        self.momentum, self.beta1, self.beta2, self.eps = momentum, beta1, beta2, eps
        self.m = np.zeros_like(theta)
        self.v = np.zeros_like(theta)
        self.t = 0

    def step(self, theta, grads, lr):
        """Update every W^l, b^l of theta with its gradient (lists of arrays, l2 included)."""
        params = _views(theta, self.layout)
        params = params[0] + params[1]
        ms = self.layout.weights(self.m) + self.layout.biases(self.m)
        vs = self.layout.weights(self.v) + self.layout.biases(self.v)
        if self.name == "adam":
            self.t += 1
            lr_t = lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for p, g, m, s in zip(params, grads, ms, vs):
            if self.name == "sgd":
                p -= lr * g
            elif self.name == "momentum":
                m[...] = self.momentum * m - lr * g
                p += m
            elif self.name == "nesterov":
                m[...] = self.momentum * m - lr * g
                p += self.momentum * m - lr * g
            elif self.name == "adam":
                m[...] = self.beta1 * m + (1 - self.beta1) * g
                s[...] = self.beta2 * s + (1 - self.beta2) * (g * g)
                p -= lr_t * m / (np.sqrt(s) + self.eps)
            else:
                raise ValueError(f"unknown optimizer {self.name!r}")


def sgd_step(theta, layout, x, y, lr, l2=0.0, opt=None, drop=None):
    """One per-example step in place (plain SGD, or the optimiser ``opt``; dropout ``drop``);
    returns the cost before it."""
    c, nabla_W, nabla_b = backprop(theta, layout, x, y, drop)
    Ws, bs = _views(theta, layout)
    if opt is None:
        for W, b, gW, gb in zip(Ws, bs, nabla_W, nabla_b):
            W -= lr * (gW + l2 * W)
            b -= lr * gb
    else:
        opt.step(theta, [gW + l2 * W for W, gW in zip(Ws, nabla_W)] + nabla_b, lr)
    return c


def batch_step(theta, layout, X, Y, lr, l2=0.0, opt=None, drop=None):
    """One mini-batch step in place with the batch's mean gradient; returns the summed cost."""
    m = X.shape[0]
    sum_W = [np.zeros_like(W) for W in layout.weights(theta)]
    sum_b = [np.zeros_like(b) for b in layout.biases(theta)]
    total = 0.0
    for x, y in zip(X, Y):
        c, nabla_W, nabla_b = backprop(theta, layout, x, y, drop)
        total += c
        for l in range(layout.n_weight_layers):
            sum_W[l] += nabla_W[l]
            sum_b[l] += nabla_b[l]
    Ws, bs = _views(theta, layout)
    if opt is None:
        for W, b, gW, gb in zip(Ws, bs, sum_W, sum_b):
            W -= lr * (gW / m + l2 * W)
            b -= lr * (gb / m)
    else:
        opt.step(theta, [gW / m + l2 * W for W, gW in zip(Ws, sum_W)] + [gb / m for gb in sum_b],
                 lr)
    return total


def epoch(theta, layout, X, Y, order, lr, l2=0.0, batch_size=1, opt=None, drop=None):
    """One pass over the rows ``order``; returns the summed cost (as ``kernels.epoch``)."""
    total = 0.0
    if batch_size == 1:
        for i in order:
            total += sgd_step(theta, layout, X[i], Y[i], lr, l2, opt, drop)
        return total
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        total += batch_step(theta, layout, X[rows], Y[rows], lr, l2, opt, drop)
    return total


def loss(theta, layout, X, Y, l2=0.0):
    """Mean cost plus (l2/2) * sum(W^2)."""
    total = 0.0
    for x, y in zip(X, Y):
        zs, acts = forward(theta, layout, x)
        total += cost(layout, zs[-1], acts[-1], y)
    reg = sum(float(np.sum(W * W)) for W in layout.weights(theta))
    return total / X.shape[0] + 0.5 * l2 * reg


def gradient(theta, layout, X, Y, l2=0.0):
    """Gradient of ``loss`` as a flat array in theta's layout."""
    grad = np.zeros_like(theta)
    gWs, gbs = layout.weights(grad), layout.biases(grad)
    for x, y in zip(X, Y):
        _, nabla_W, nabla_b = backprop(theta, layout, x, y)
        for l in range(layout.n_weight_layers):
            gWs[l] += nabla_W[l]
            gbs[l] += nabla_b[l]
    grad /= X.shape[0]
    for gW, W in zip(gWs, layout.weights(theta)):
        gW += l2 * W
    return grad


class BaselineNetwork:
    """The baseline behind the same constructor and ``fit``/``predict`` as ``fastbp.Network``.

    Same seed -> same initial theta and same shuffles as ``Network``, so the two can be
    compared epoch by epoch or timed side by side. Inputs are validated the same way.
    """

    def __init__(self, sizes, hidden="sigmoid", output="sigmoid", loss=None,
                 init="glorot_uniform", dtype="float64", seed=None):
        # the same checks, layout, initialisation and generator as Network
        sizes, hidden, output, loss, init, dtype, seed = v.check_architecture(
            sizes, hidden, output, loss, init, dtype, seed)
        self.layout = Layout(sizes, hidden + (output,), loss)
        self.output, self.loss_name, self.dtype = output, loss, dtype
        self._rng = np.random.default_rng(seed)
        self.theta = _init.initialize(np.zeros(self.layout.n_params, dtype=dtype), self.layout,
                                      init, self._rng)

    @property
    def sizes(self):
        return self.layout.sizes

    def predict(self, X):
        X, was_1d = v.check_X(X, self.sizes[0], self.dtype, allow_1d=True)
        out = np.array([forward(self.theta, self.layout, x)[1][-1] for x in X])
        return out[0] if was_1d else out

    @options.takes(("epochs", "lr", "batch_size", "l2", "shuffle", "seed", "optimizer",
                    "momentum", "beta1", "beta2", "epsilon", "schedule", "power_t", "decay",
                    "step_size", "tol", "adaptive_patience", "dropout"))
    def fit(self, X, Y, **given):
        """Same semantics as ``Network.fit`` (without validation data); returns the
        per-epoch mean training loss."""
        o = options.validate(len(self.sizes) - 2, **given)
        X, _ = v.check_X(X, self.sizes[0], self.dtype)
        Y = v.check_Y(Y, X.shape[0], self.sizes[-1], self.output, self.loss_name, self.dtype)
        rng = self._rng if o.seed is None else np.random.default_rng(o.seed)
        drop = None
        if any(r > 0 for r in o.dropout):
            drop = Dropout(o.dropout, self.layout, self.dtype, rng.integers(2**63))
        opt = None if o.optimizer == "sgd" else Optimizer(o.optimizer, self.theta, self.layout,
                                                          o.momentum, o.beta1, o.beta2,
                                                          o.epsilon)
        history = []
        best, bad, rate = np.inf, 0, o.lr
        for e in range(1, o.epochs + 1):
            if o.schedule != "adaptive":
                rate = options.schedule_lr(o, e)
            order = rng.permutation(X.shape[0]) if o.shuffle else np.arange(X.shape[0])
            total = epoch(self.theta, self.layout, X, Y, order, self.dtype.type(rate),
                          self.dtype.type(o.l2), o.batch_size, opt, drop)
            mean = total / X.shape[0]
            if o.l2:
                mean += 0.5 * float(o.l2) * sum(float(np.sum(W * W))
                                                for W in self.layout.weights(self.theta))
            history.append(mean)
            if o.schedule == "adaptive":
                bad = bad + 1 if mean > best - o.tol else 0
                best = min(best, mean)
                if bad >= o.adaptive_patience:
                    rate, bad = rate / 5.0, 0
        return history


def time_epoch(net, X, Y, lr=0.1, batch_size=1, seed=0):
    """Seconds for one epoch of ``net.fit`` (a Network or a BaselineNetwork)."""
    t0 = time.perf_counter()
    net.fit(X, Y, epochs=1, lr=lr, batch_size=batch_size, seed=seed)
    return time.perf_counter() - t0


__all__ = ["activation", "activation_derivative", "cost", "output_delta", "forward", "backprop",
           "sgd_step", "batch_step", "epoch", "loss", "gradient", "BaselineNetwork"]
