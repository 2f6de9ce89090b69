"""fastbp.activations.exp (the vectorisable exp the activations use) against NumPy's, and the
activations built on it against their textbook formulas."""
import math

import numpy as np
import pytest

from fastbp import activations as act
from fastbp._jit import jit


@jit
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = act.exp(x[i])


@jit
def _sigmoid_all(z, out):
    for i in range(z.shape[0]):
        out[i] = act.sigmoid(z[i])


def _grid(n):
    rng = np.random.default_rng(0)
    specials = [0.0, -0.0, 1e-300, -1e-300, 5e-324, 1.0, -1.0, 0.5 * math.log(2),
                -0.5 * math.log(2), 709.782712893384, 709.7827128933841, 709.79, 710.0, 800.0,
                -708.39, -708.4, -745.13, -745.1332191019412, -745.14, -746.0, -800.0]
    return np.concatenate([np.linspace(-760.0, 720.0, n), rng.uniform(-40.0, 40.0, n),
                           rng.normal(size=n), specials])


def test_exp_within_one_ulp_of_numpy_over_the_whole_range():
    x = _grid(400_001)
    out = np.empty_like(x)
    _exp_all(x, out)
    with np.errstate(over="ignore", under="ignore"):
        ref = np.exp(x)
    normal = np.isfinite(ref) & (ref >= np.finfo(np.float64).tiny)
    ulp = np.abs(out[normal] - ref[normal]) / np.spacing(ref[normal])
    assert ulp.max() <= 1.0, (ulp.max(), x[normal][ulp.argmax()])
    # subnormal results: within one unit of the smallest subnormal; 0 and inf exactly
    sub = ~normal & np.isfinite(ref)
    assert np.abs(out[sub] - ref[sub]).max() <= 5e-324
    assert np.array_equal(out[ref == 0.0], ref[ref == 0.0])
    assert np.all(np.isposinf(out[np.isposinf(ref)]))


def test_exp_of_inf_and_nan():
    x = np.array([np.inf, -np.inf, np.nan])
    out = np.empty_like(x)
    _exp_all(x, out)
    assert out[0] == np.inf and out[1] == 0.0 and np.isnan(out[2])


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 4e-16), (np.float32, 1.2e-7)])
def test_sigmoid_matches_the_formula(dtype, rtol):
    z = _grid(100_001).astype(dtype)
    z = z[np.isfinite(z)]
    out = np.empty_like(z)
    _sigmoid_all(z, out)
    zz = z.astype(np.longdouble)
    ref = np.where(zz >= 0, 1 / (1 + np.exp(-zz)), np.exp(zz) / (1 + np.exp(zz)))
    ref = ref.astype(dtype)
    big = ref > np.finfo(dtype).tiny
    np.testing.assert_allclose(out[big], ref[big], rtol=rtol * 4, atol=0)
    assert np.all(out[~big] <= 2 * np.finfo(dtype).tiny)
    assert np.all((out >= 0) & (out <= 1))
