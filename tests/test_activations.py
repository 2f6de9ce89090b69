"""fastbp.activations.exp (the vectorisable exp the activations use) against NumPy's, and the
activations built on it against their textbook formulas."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from fastbp import activations as act
from numba import types

from fastbp._jit import JIT_DISABLED, jit


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


def _grid32(n):
    rng = np.random.default_rng(1)
    specials = [0.0, -0.0, 1e-38, -1e-38, 1e-45, 1.0, -1.0, 0.5 * math.log(2), 88.72, 88.7228,
                88.7229, 89.0, 100.0, -87.3, -87.34, -103.27, -103.28, -103.98, -104.0, -200.0]
    return np.concatenate([np.linspace(-110.0, 95.0, n), rng.uniform(-20.0, 20.0, n),
                           rng.normal(size=n) * 1e-3, specials]).astype(np.float32)


def test_float32_exp_within_one_ulp_of_the_correctly_rounded_value():
    # float32 networks take e**x in float32 arithmetic (fastbp.activations._exp32); the
    # reference is float64's exp rounded to float32
    x = _grid32(1_000_001)
    out = np.empty_like(x)
    _exp_all(x, out)
    with np.errstate(over="ignore", under="ignore"):
        ref = np.exp(x.astype(np.float64)).astype(np.float32)
    normal = np.isfinite(ref) & (ref >= np.finfo(np.float32).tiny)
    ulp = (np.abs(out[normal].astype(np.float64) - ref[normal])
           / np.spacing(ref[normal]).astype(np.float64))
    assert ulp.max() <= 1.0, (ulp.max(), x[normal][ulp.argmax()])
    sub = ~normal & np.isfinite(ref)
    assert sub.sum() > 1000
    assert np.abs(out[sub].astype(np.float64) - ref[sub]).max() <= 1.5e-45
    assert np.array_equal(out[ref == 0.0], ref[ref == 0.0]) and (ref == 0.0).sum() > 1000
    assert np.all(np.isposinf(out[np.isposinf(ref)])) and np.isposinf(ref).sum() > 1000
    special = np.array([np.inf, -np.inf, np.nan], dtype=np.float32)
    out = np.empty_like(special)
    _exp_all(special, out)
    assert out[0] == np.inf and out[1] == 0.0 and np.isnan(out[2])


@jit
def _exp_of(x):
    return act.exp(x)


@jit
def _sigmoid_of(x):
    return act.sigmoid(x)


@pytest.mark.skipif(JIT_DISABLED, reason="the compiled types of exp and sigmoid")
@pytest.mark.parametrize("f", [_exp_of, _sigmoid_of])
def test_exp_and_sigmoid_compute_in_the_precision_of_their_argument(f):
    # a float32 argument must not be widened to float64 (the float64 polynomial on float32
    # data took a 32-unit sigmoid layer 49.5 instead of 27 ns)
    f(np.float32(0.5))
    f(0.5)
    returns = {sig.args[0]: sig.return_type for sig in f.nopython_signatures}
    assert returns == {types.float32: types.float32, types.float64: types.float64}


def test_exp_without_the_jit_follows_the_argument_precision():
    # the kernels stay valid Python (NUMBA_DISABLE_JIT=1): exp picks its float32 form there
    # too (a child process: the JIT is switched off at numba's import)
    code = ("import math, numpy as np; from fastbp import activations as act; "
            "e = act.exp(np.float32(1.5)); assert isinstance(e, np.float32), type(e); "
            "assert e == np.float32(math.exp(1.5)), e; assert act.exp(1.5) == math.exp(1.5); "
            "s = act.sigmoid(np.float32(-2.0)); assert isinstance(s, np.float32), type(s); "
            "print('ok')")
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120, cwd=os.path.dirname(os.path.dirname(act.__file__)))
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


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
