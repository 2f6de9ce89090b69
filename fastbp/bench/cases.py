"""The benchmark cases: networks, seeded data and the learning rate every implementation uses."""
from dataclasses import dataclass

import numpy as np

from ..network import Network


@dataclass(frozen=True)
class Case:
    name: str
    sizes: tuple
    output: str
    loss: str
    n: int  # rows timed for fastbp and JAX (fast implementations)
    n_slow: int  # rows timed for the baseline and PyTorch


CASES = {
    "tiny": Case("tiny", (2, 4, 1), "sigmoid", "mse", 200_000, 4000),
    "small": Case("small", (64, 32, 10), "softmax", "cross_entropy", 40_000, 3000),
    "medium": Case("medium", (784, 100, 10), "softmax", "cross_entropy", 4000, 600),
    "large": Case("large", (784, 512, 512, 10), "softmax", "cross_entropy", 400, 100),
}
LR = 0.1
N_CHECK = 64  # rows of the parameter-agreement check


def make_data(case, dtype, n, seed=0):
    """Seeded inputs in [0, 1) and targets for ``case``, and the order to visit them.

    The rows are stored already shuffled and visited in storage order, the same for every
    implementation: a random gather over a large X would otherwise time cache misses in
    fastbp's loop that the JAX version (which scans pre-gathered arrays) does not pay.
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n, case.sizes[0])).astype(dtype)
    if case.output == "softmax":
        Y = np.eye(case.sizes[-1], dtype=dtype)[rng.integers(0, case.sizes[-1], n)]
    else:  # a noisy XOR of the first two inputs
        Y = ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)).astype(dtype)[:, None]
    perm = rng.permutation(n)
    return np.ascontiguousarray(X[perm]), np.ascontiguousarray(Y[perm]), np.arange(n)


def make_network(case, dtype, seed=0):
    return Network(list(case.sizes), hidden="sigmoid", output=case.output, loss=case.loss,
                   dtype=dtype, seed=seed)
