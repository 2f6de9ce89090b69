"""The epoch passes flush subnormal numbers to zero and leave the caller's floating-point
environment as they found it (``fastbp._fpenv``)."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit, prange

import fastbp
from fastbp import _fpenv, optim

x86_only = pytest.mark.skipif(not _fpenv.X86 or fastbp._jit.JIT_DISABLED,
                              reason="x86 MXCSR, compiled passes")


@njit
def _steps(theta, spec, ws, state, drop, X, Y):
    for i in range(X.shape[0]):
        optim.step(theta, spec, ws, state, drop, X[i], Y[i])


def _decaying_moments(dtype, by_step=False, n=1500):
    """Adam on a 1-1-1 network: the first example has input 1, the others input 0, so the
    input weight's gradient is zero from the second example on and its moments decay."""
    net = fastbp.Network([1, 1, 1], hidden="relu", output="identity", loss="mse",
                         dtype=dtype, seed=0)
    X = np.zeros((n, 1), dtype=dtype)
    X[0] = 1.0
    Y = np.ones((n, 1), dtype=dtype)
    state = optim.make_state("adam", net.n_params, net.dtype, 0.01)
    drop = optim.make_dropout((0.0,), 3, net.dtype, 0)
    if by_step:  # optim.step from a user's compiled loop
        _steps(net.theta, net.spec, net.workspace(), state, drop, X, Y)
    else:
        optim.epoch(net.theta, net.spec, net.workspace(), state, drop, X, Y, np.arange(n), 1)
    return state


@x86_only
@pytest.mark.parametrize("by_step", [False, True])
def test_decaying_optimizer_moments_are_flushed_to_zero(by_step):
    state = _decaying_moments("float32", by_step)
    tiny = np.finfo(np.float32).tiny
    subnormal = (np.abs(state.m) < tiny) & (state.m != 0)
    assert not subnormal.any(), state.m
    assert (state.m == 0).any(), state.m  # the input weight's first moment
    # IEEE arithmetic (NumPy here) keeps it subnormal for ever: 0.9 times the smallest
    # subnormal rounds back to it, and every later step pays a microcode assist
    m = np.float32(0.1 * 0.5)
    for _ in range(1499):
        m = np.float32(0.9) * m
    assert 0 < m < tiny


def _control():
    """The calling thread's MXCSR control bits (rounding, masks, FTZ, DAZ), without the
    sticky exception flags (bits 0-5), which any float operation may set."""
    return _fpenv.mxcsr() & ~0x3F


@x86_only
def test_the_callers_environment_is_restored():
    before = _control()
    assert before & _fpenv.FTZ_DAZ == 0  # this process does not flush by itself
    net = fastbp.Network([3, 4, 2], seed=0)
    rng = np.random.default_rng(0)
    X, Y = rng.random((40, 3)), rng.random((40, 2))
    net.fit(X, Y, epochs=1)
    assert _control() == before
    net.fit(X, Y, epochs=1, batch_size=8, optimizer="adam", dropout=0.2)
    assert _control() == before
    fastbp.kernels.epoch(net.theta, net.spec, net.workspace(), X, Y, np.arange(40), 0.1,
                         0.0, 1)
    assert _control() == before
    # an empty pass returns before it touches the register
    fastbp.kernels.epoch(net.theta, net.spec, net.workspace(), X, Y,
                         np.arange(0), 0.1, 0.0, 1)
    assert _control() == before
    _decaying_moments("float64", by_step=True)
    assert _control() == before
    if importlib.util.find_spec("river") is not None:  # the River learner's Adam step
        from fastbp.river import MLPClassifier

        est = MLPClassifier(hidden_layer_sizes=(3,), optimizer="adam", seed=0)
        for i in range(20):
            est.learn_one({"a": float(i % 3), "b": 1.0}, i % 2)
        assert _control() == before
    # outside the passes, IEEE subnormals as usual
    assert np.float64(np.finfo(np.float64).tiny) * np.float64(0.5) > 0


@njit(parallel=True)
def _worker_registers(n):
    """Each of n prange iterations reads its thread's MXCSR control bits (after a short
    spin, so that the iterations spread over the pool's threads)."""
    out = np.zeros(n, dtype=np.uint32)
    for i in prange(n):
        s = 0.0
        for k in range(200000):
            s += k * 1e-9
        out[i] = (_fpenv.mxcsr() & ~0x3F) + np.uint32(s < 0)
    return out


@x86_only
def test_parallel_workers_are_restored():
    # Population.fit trains its members on numba's thread pool: each worker sets and
    # restores its own register, and none keeps flushing afterwards
    rng = np.random.default_rng(0)
    X, Y = rng.random((64, 3)), rng.random((64, 2))
    from fastbp import threads

    with threads.pool(2):
        fastbp.Population([3, 4, 2], 4).fit(X, Y, epochs=1, lr=0.1)
        registers = _worker_registers(8)
    assert (registers == _control()).all(), registers


NOT_X86 = """
import platform
platform.machine = lambda: "arm64"  # as on a machine without MXCSR
import numpy as np, fastbp
from fastbp import _fpenv
assert not _fpenv.X86
net = fastbp.Network([3, 4, 2], seed=0)
X = np.random.default_rng(0).random((20, 3))
net.fit(X, X[:, :2], epochs=1)
net.fit(X, X[:, :2], epochs=1, optimizer="adam", batch_size=4)
print("ok", _fpenv.mxcsr())
"""


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="compiles the passes")
def test_the_passes_compile_where_there_is_no_mxcsr(tmp_path):
    # elsewhere the calls are compiled no-ops (plain Python functions, they failed to type)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", NOT_X86], capture_output=True, text=True,
                         timeout=600, cwd="/", env=env)
    assert out.returncode == 0 and out.stdout.split() == ["ok", "0"], out.stderr[-3000:]
