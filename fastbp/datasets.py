"""Built-in synthetic data sets (no download), seeded and reproducible."""
import numpy as np

from . import _validation as v


def make_prototypes(n_samples=6000, n_features=64, n_classes=10, noise=0.9, flip=0.1, seed=0):
    """A digits-like classification task: noisy copies of random binary prototypes.

    Each class has a random binary prototype of ``n_features`` pixels (think 8 x 8 images);
    a sample is its class's prototype with a fraction ``flip`` of pixels inverted plus
    Gaussian noise of standard deviation ``noise``. Columns are then standardised (zero
    mean, unit variance). Returns (X float64 (n_samples, n_features), y int64 class indices).
    """
    n_samples = v.check_int("n_samples", n_samples)
    n_features = v.check_int("n_features", n_features)
    n_classes = v.check_int("n_classes", n_classes, minimum=2)
    noise = v.check_real("noise", noise, minimum=0.0)
    flip = v.check_real("flip", flip, minimum=0.0)
    if flip > 1:
        raise ValueError(f"flip must be a fraction in [0, 1], got {flip}")
    rng = np.random.default_rng(v.check_seed("seed", seed))
    prototypes = rng.integers(0, 2, size=(n_classes, n_features)).astype(np.float64)
    y = rng.integers(0, n_classes, size=n_samples)
    X = prototypes[y]
    flips = rng.random(X.shape) < flip
    X = np.where(flips, 1.0 - X, X) + noise * rng.standard_normal(X.shape)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    return X, y.astype(np.int64)


def xor():
    """The four XOR examples: X (4, 2) and targets (4, 1)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    Y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    return X, Y
