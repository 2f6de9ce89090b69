"""The implementations timed side by side: fastbp, the NumPy baseline, JAX and PyTorch.

Each ``prepare``s state for (X, Y, order) outside the timed region and returns ``run``, which
trains one epoch from theta0 and returns the final flat theta in fastbp's layout. JAX and
PyTorch are optional: a peer that is not installed is reported as such, never required.
"""
import numpy as np

from .. import baseline as B
from ..layout import aligned_array, aligned_copy
from .cases import LR
from .impl import Impl, _importable


class FastbpImpl(Impl):
    name = "fastbp"

    def prepare(self, case, net, X, Y, order, batch_size):
        ws = net.workspace()
        theta = aligned_copy(net.theta)  # as Network's own theta (layout.ALIGN)
        # X on a cache line, as README advises for data fastbp trains on (``fit`` makes its
        # own copies so; JAX gets ``device_put`` buffers, also outside the timing): from
        # NumPy's 16-48 byte offsets 64-32-10 float32 took 0.188-0.191 µs per example
        # against 0.183-0.186, 784-100-10 float32 2.69-2.92 against 2.68-2.69
        X = aligned_array(X, X.dtype)
        lr, l2 = net.dtype.type(LR), net.dtype.type(0.0)
        spec = net.spec
        from .. import kernels

        def run(theta0):  # the epoch Network.fit runs for plain SGD
            theta[:] = theta0
            kernels.epoch(theta, spec, ws, X, Y, order, lr, l2, batch_size)
            return theta

        return run


class BaselineImpl(Impl):
    name = "numpy"

    def prepare(self, case, net, X, Y, order, batch_size):
        theta = net.theta.copy()
        lr = net.dtype.type(LR)

        def run(theta0):
            theta[:] = theta0
            B.epoch(theta, net.layout, X, Y, order, lr, 0.0, batch_size)
            return theta

        return run


class JaxImpl(Impl):
    """``jax.jit`` of a ``lax.scan`` over the epoch, one ``jax.grad`` update per example (or
    per batch), the parameters donated to the update (``donate_argnums``).

    One example is a vector, so each layer is ``W @ a`` (a matrix-vector product); the
    mini-batch form is ``A @ W.T`` on (rows, inputs). Writing the per-example product as
    ``a @ W.T`` (the batch form applied to one row) made XLA's CPU backend take 3.1x as long on
    784-100-10 (88 against 28 µs per example, measured in one process): its gradient is a
    transposed outer product that XLA does not emit as one fused rank-1 update. The XLA
    thread flags made no measurable difference pinned to one core.
    """

    name = "jax"

    def available(self):
        return _importable("jax")

    def prepare(self, case, net, X, Y, order, batch_size):
        import jax
        import jax.numpy as jnp

        if net.dtype == np.float64 and not jax.config.jax_enable_x64:
            jax.config.update("jax_enable_x64", True)  # before any array of this run exists
        softmax = case.output == "softmax"

        def layer(W, a):
            return W @ a if a.ndim == 1 else a @ W.T

        def cost(params, x, y):  # one example (vectors) or a mini-batch (rows): mean cost
            a = x
            for W, b in params[:-1]:
                a = jax.nn.sigmoid(layer(W, a) + b)
            z = layer(params[-1][0], a) + params[-1][1]
            if softmax:
                c = jnp.sum(y * (jax.nn.logsumexp(z, axis=-1, keepdims=True) - z), axis=-1)
            else:
                c = 0.5 * jnp.sum((jax.nn.sigmoid(z) - y) ** 2, axis=-1)
            return jnp.mean(c)

        lr = net.dtype.type(LR)
        grad = jax.grad(cost)

        def step(params, xy):
            g = grad(params, *xy)
            return jax.tree_util.tree_map(lambda p, q: p - lr * q, params, g), None

        Xs, Ys = _batched(X, Y, order, batch_size)
        epoch = jax.jit(lambda params, Xs, Ys: jax.lax.scan(step, params, (Xs, Ys))[0],
                        donate_argnums=(0,))
        Xs, Ys = jax.device_put(Xs), jax.device_put(Ys)  # converted once, outside the timing
        layout = net.layout

        def run(theta0):
            params = [(jnp.asarray(W), jnp.asarray(b))
                      for W, b in zip(layout.weights(theta0), layout.biases(theta0))]
            params = jax.block_until_ready(epoch(params, Xs, Ys))
            return layout.unroll([np.asarray(W) for W, _ in params],
                                 [np.asarray(b) for _, b in params], dtype=net.dtype)

        return run


class TorchImpl(Impl):
    """PyTorch on one thread, written for speed: the gradients by hand under ``no_grad``
    into preallocated tensors, the rank-1 update in place (``addr_``), no tensor created per
    step. (Eager autograd with one ``backward()`` per example took 4-10x as long.)"""

    name = "pytorch"

    def available(self):
        return _importable("torch")

    def prepare(self, case, net, X, Y, order, batch_size):
        import torch

        torch.set_num_threads(1)
        Xs, Ys = (torch.from_numpy(np.ascontiguousarray(a)) for a in
                  _batched(X, Y, order, batch_size))
        layout, lr, softmax = net.layout, float(LR), case.output == "softmax"
        Ws = [torch.from_numpy(W.copy()) for W in layout.weights(net.theta)]
        bs = [torch.from_numpy(b.copy()) for b in layout.biases(net.theta)]
        m = 1 if batch_size == 1 else batch_size
        acts = [torch.empty((m, W.shape[1]), dtype=W.dtype) for W in Ws]
        acts.append(torch.empty((m, Ws[-1].shape[0]), dtype=Ws[-1].dtype))
        deltas = [torch.empty_like(a) for a in acts[1:]]
        scale = lr / m

        def one(x, y):  # x, y: (m, n) rows
            acts[0].copy_(x)
            for l, (W, b) in enumerate(zip(Ws, bs)):
                torch.addmm(b, acts[l], W.T, out=acts[l + 1])
                if l < len(Ws) - 1 or not softmax:
                    torch.sigmoid(acts[l + 1], out=acts[l + 1])
            d, a = deltas[-1], acts[-1]
            if softmax:
                torch.softmax(a, dim=1, out=d)
                d.sub_(y)
            else:
                torch.sub(a, y, out=d)
                d.mul_(a).mul_(1 - a)
            for l in range(len(Ws) - 1, -1, -1):
                if l:  # the next delta with this layer's weights before their update
                    torch.mm(deltas[l], Ws[l], out=deltas[l - 1])
                    a = acts[l]
                    deltas[l - 1].mul_(a).mul_(1 - a)
                Ws[l].addmm_(deltas[l].T, acts[l], alpha=-scale)
                bs[l].sub_(deltas[l].sum(0), alpha=scale)

        def run(theta0):
            with torch.no_grad():
                for W, b, W0, b0 in zip(Ws, bs, layout.weights(theta0), layout.biases(theta0)):
                    W.copy_(torch.from_numpy(W0))
                    b.copy_(torch.from_numpy(b0))
                for i in range(Xs.shape[0]):
                    one(Xs[i], Ys[i])
            return layout.unroll([W.numpy() for W in Ws], [b.numpy() for b in bs],
                                 dtype=net.dtype)

        return run


def _batched(X, Y, order, batch_size):
    """The rows in visiting order: (steps, features) for batch 1 (one vector per step),
    (steps, batch, features) otherwise; gathered once, outside the timed region."""
    m = order.shape[0] // batch_size * batch_size
    rows = order[:m]
    if batch_size == 1:
        return X[rows], Y[rows]
    return (X[rows].reshape(m // batch_size, batch_size, -1),
            Y[rows].reshape(m // batch_size, batch_size, -1))


def _impls():
    from .peers_online import DeepRiverImpl, FastbpRiverImpl, SklearnImpl

    return [FastbpImpl(), BaselineImpl(), JaxImpl(), TorchImpl(), SklearnImpl(),
            DeepRiverImpl(), FastbpRiverImpl()]


IMPLS = _impls()
SLOW = {"numpy", "pytorch", "scikit-learn", "deep-river", "fastbp.river"}
# the peers paying a Python call (with input checks) per example: a tenth of SLOW's rows
ONLINE = {"scikit-learn", "deep-river", "fastbp.river"}
