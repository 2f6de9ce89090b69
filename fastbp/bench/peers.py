"""The implementations timed side by side: fastbp, the NumPy baseline, JAX and PyTorch.

Each ``prepare``s state for (X, Y, order) outside the timed region and returns ``run``, which
trains one epoch from theta0 and returns the final flat theta in fastbp's layout. JAX and
PyTorch are optional: a peer that is not installed is reported as such, never required.
"""
import numpy as np

from .. import baseline as B
from .cases import LR


class Impl:
    """An implementation: ``prepare`` builds state for (X, Y, order); ``run`` trains one epoch
    from theta0 and returns the final flat theta (in fastbp's layout)."""

    name = "?"

    def available(self):
        return True, ""


class FastbpImpl(Impl):
    name = "fastbp"

    def prepare(self, case, net, X, Y, order, batch_size):
        ws = net.workspace()
        theta = net.theta.copy()
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
    """``jax.jit`` of a ``lax.scan`` over the epoch, one update per example (or per batch)."""

    name = "jax"

    def available(self):
        try:
            import jax  # noqa: F401
        except Exception as exc:  # ImportError or a broken install
            return False, f"not installed ({type(exc).__name__})"
        return True, ""

    def prepare(self, case, net, X, Y, order, batch_size):
        import jax
        import jax.numpy as jnp

        if net.dtype == np.float64:
            jax.config.update("jax_enable_x64", True)

        def forward_cost(params, x, y):
            # x, y: one example (vectors) or a mini-batch (rows); mean cost over the rows
            a = x
            for W, b in params[:-1]:
                a = jax.nn.sigmoid(a @ W.T + b)
            W, b = params[-1]
            z = a @ W.T + b
            if case.output == "softmax":
                cost = jnp.sum(y * (jax.nn.logsumexp(z, axis=-1, keepdims=True) - z), axis=-1)
            else:
                cost = 0.5 * jnp.sum((jax.nn.sigmoid(z) - y) ** 2, axis=-1)
            return jnp.mean(cost)

        lr = net.dtype.type(LR)
        grad = jax.grad(forward_cost)
        n = order.shape[0]

        def step(params, xy):
            g = grad(params, xy[0], xy[1])
            return jax.tree_util.tree_map(lambda p, q: p - lr * q, params, g), None

        if batch_size == 1:
            Xs, Ys = X[order], Y[order]
        else:
            m = n // batch_size * batch_size
            rows = order[:m]
            Xs = X[rows].reshape(m // batch_size, batch_size, -1)
            Ys = Y[rows].reshape(m // batch_size, batch_size, -1)

        epoch = jax.jit(lambda params, Xs, Ys: jax.lax.scan(step, params, (Xs, Ys))[0])
        Xs, Ys = jnp.asarray(Xs), jnp.asarray(Ys)
        layout = net.layout

        def run(theta0):
            params = [(jnp.asarray(W), jnp.asarray(b))
                      for W, b in zip(layout.weights(theta0), layout.biases(theta0))]
            params = epoch(params, Xs, Ys)
            params = jax.block_until_ready(params)
            return layout.unroll([np.asarray(W) for W, _ in params],
                                 [np.asarray(b) for _, b in params], dtype=net.dtype)

        return run


class TorchImpl(Impl):
    """PyTorch eager mode, one thread, a Python loop with one backward() per example."""

    name = "pytorch"

    def available(self):
        try:
            import torch  # noqa: F401
        except Exception as exc:
            return False, f"not installed ({type(exc).__name__})"
        return True, ""

    def prepare(self, case, net, X, Y, order, batch_size):
        import torch

        torch.set_num_threads(1)
        Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)
        layout = net.layout
        lr = float(LR)

        def run(theta0):
            Ws = [torch.tensor(W, requires_grad=True) for W in layout.weights(theta0)]
            bs = [torch.tensor(b, requires_grad=True) for b in layout.biases(theta0)]
            for start in range(0, order.shape[0], batch_size):
                rows = torch.from_numpy(order[start:start + batch_size])
                x, y = Xt[rows], Yt[rows]  # (m, n_in): a batch of one in per-example mode
                a = x
                for W, b in zip(Ws[:-1], bs[:-1]):
                    a = torch.sigmoid(a @ W.T + b)
                z = a @ Ws[-1].T + bs[-1]
                if case.output == "softmax":
                    cost = -(y * torch.log_softmax(z, dim=1)).sum(dim=1).mean()
                else:
                    cost = 0.5 * ((torch.sigmoid(z) - y) ** 2).sum(dim=1).mean()
                cost.backward()
                with torch.no_grad():
                    for p in Ws + bs:
                        p -= lr * p.grad
                        p.grad = None
            return layout.unroll([W.detach().numpy() for W in Ws],
                                 [b.detach().numpy() for b in bs], dtype=net.dtype)

        return run


IMPLS = [FastbpImpl(), BaselineImpl(), JaxImpl(), TorchImpl()]
SLOW = {"numpy", "pytorch"}
