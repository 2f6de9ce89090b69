"""fastbp._tiny: per-example plain SGD with the layout compiled in (opt-in, FASTBP_TINY=1).

Each layout and dtype here costs one cold compile (~10 s), so the layouts are few and chosen
to cover every activation and both losses between them.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastbp
from fastbp import _tiny, epochs, optim
from fastbp._jit import JIT_DISABLED

pytestmark = pytest.mark.skipif(JIT_DISABLED, reason="compiled kernels only")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (sizes, hidden, output, loss, dtype)
CASES = [
    ((2, 4, 1), "sigmoid", "sigmoid", "mse", "float64"),
    ((2, 4, 1), "sigmoid", "sigmoid", "mse", "float32"),
    ((4, 8, 3), "tanh", "softmax", "cross_entropy", "float64"),
    ((2, 8, 1), "relu", "identity", "mse", "float32"),
    ((3, 5, 4, 2), ["elu", "softplus"], "sigmoid", "cross_entropy", "float64"),
]
TOL = {"float64": dict(rtol=1e-12, atol=1e-15), "float32": dict(rtol=2e-5, atol=1e-6)}


@pytest.fixture
def tiny_on(monkeypatch):
    monkeypatch.setenv("FASTBP_TINY", "1")


def _problem(sizes, hidden, output, loss, dtype, n=300, seed=0):
    net = fastbp.Network(sizes, hidden=hidden, output=output, loss=loss, dtype=dtype, seed=seed)
    rng = np.random.default_rng(seed + 1)
    X = rng.standard_normal((n, sizes[0])).astype(dtype)
    if output == "softmax":
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(sizes[-1], size=n)]
    else:
        Y = rng.random((n, sizes[-1])).astype(dtype)
    return net, X, Y, rng.permutation(n)


def _state(net, lr=0.1, l2=0.0, dropout=0.0):
    opt = optim.make_state("sgd", net.n_params, net.dtype, lr, l2, 0.9, 0.9, 0.999, 1e-8)
    drop = optim.make_dropout([dropout] * (len(net.sizes) - 2), len(net.sizes), net.dtype, 7)
    return opt, drop


def _both(net, X, Y, order, **state):
    """(total, theta) of one pass through the specialised and through the generic kernel,
    from the same start."""
    start = net.theta.copy()
    out = []
    for run in (_tiny.run, epochs.run):
        theta = start.copy()
        opt, drop = _state(net, **state)
        total = run(theta, net.spec, net.layout.workspace(net.dtype), opt, drop, X, Y, order, 1)
        out.append((total, theta, drop.counter.copy()))
    return out


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(map(str, c[0])) + c[-1][-2:])
def test_same_parameters_as_generic(tiny_on, case):
    net, X, Y, order = _problem(*case)
    assert _tiny.kernels_for(net.spec) is not None
    (t_tiny, th_tiny, _), (t_gen, th_gen, _) = _both(net, X, Y, order)
    assert not np.array_equal(th_tiny, net.theta)  # it trained
    np.testing.assert_allclose(th_tiny, th_gen, **TOL[case[-1]])
    assert t_tiny == pytest.approx(t_gen, rel=1e-10 if case[-1] == "float64" else 1e-4)


@pytest.mark.parametrize("l2, dropout", [(0.01, 0.0), (0.0, 0.3)])
def test_weight_decay_and_dropout_as_generic(tiny_on, l2, dropout):
    net, X, Y, order = _problem((2, 4, 1), "sigmoid", "sigmoid", "mse", "float64")
    (t_tiny, th_tiny, c_tiny), (t_gen, th_gen, c_gen) = _both(net, X, Y, order, l2=l2,
                                                              dropout=dropout)
    np.testing.assert_allclose(th_tiny, th_gen, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(c_tiny, c_gen)  # dropout's example counter
    assert t_tiny == pytest.approx(t_gen, rel=1e-10)


def test_fit_takes_it_and_matches_the_generic_fit(monkeypatch):
    data = np.random.default_rng(3)
    X = data.standard_normal((200, 2))
    Y = (X[:, :1] * X[:, 1:] > 0).astype(float)
    fits = []
    for flag in ("0", "1"):
        monkeypatch.setenv("FASTBP_TINY", flag)
        net = fastbp.Network([2, 4, 1], seed=0, loss="mse")
        assert (_tiny.kernels_for(net.spec) is not None) == (flag == "1")
        history = net.fit(X, Y, epochs=5, lr=0.5, seed=1)
        fits.append((net.theta.copy(), history.loss))
    np.testing.assert_allclose(fits[1][0], fits[0][0], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(fits[1][1], fits[0][1], rtol=1e-12)


def test_divergence_is_caught_and_theta_restored(tiny_on):
    data = np.random.default_rng(0)
    X = data.normal(size=(40, 3)) * 10
    Y = data.normal(size=(40, 1)) * 10
    kw = dict(hidden="identity", output="identity", seed=0)
    net = fastbp.Network([3, 8, 1], **kw)
    assert _tiny.kernels_for(net.spec) is not None
    with pytest.raises(fastbp.DivergenceError) as info:
        net.fit(X, Y, epochs=50, lr=0.01, seed=1)
    assert np.isfinite(net.theta).all()
    ref = fastbp.Network([3, 8, 1], **kw)
    if info.value.epoch > 1:
        ref.fit(X, Y, epochs=info.value.epoch - 1, lr=0.01, seed=1)
    np.testing.assert_allclose(net.theta, ref.theta, rtol=1e-9)


@pytest.mark.parametrize("sizes", [(9, 4, 1), (2, 16, 1), (2, 4, 9), (2, 4, 4, 4, 1)])
def test_large_shapes_keep_the_generic_path(tiny_on, sizes):
    assert not _tiny.fits(sizes)
    net = fastbp.Network(sizes, seed=0)
    assert _tiny.kernels_for(net.spec) is None


def test_off_by_default_and_other_paths_generic(monkeypatch):
    monkeypatch.delenv("FASTBP_TINY", raising=False)
    net = fastbp.Network([2, 4, 1], seed=0)
    assert _tiny.kernels_for(net.spec) is None
    monkeypatch.setenv("FASTBP_TINY", "off")
    assert _tiny.kernels_for(net.spec) is None


def test_generated_source_names_the_layout():
    net = fastbp.Network([2, 4, 1], seed=0)
    text = _tiny.source(net.spec.table, net.spec.loss)
    assert repr(net.spec.table.tolist()) in text
    compile(text, "<tiny>", "exec")


_CHILD = """
import numpy as np, fastbp
from fastbp import _tiny
net = fastbp.Network([2, 4, 1], seed=0, loss="mse")
X = np.random.default_rng(0).standard_normal((50, 2)); Y = np.ones((50, 1)) * 0.5
net.fit(X, Y, epochs=2, lr=0.5, seed=1)
entry = _tiny.kernels_for(net.spec)
hits = 0 if entry is None else sum(entry[False, False].stats.cache_hits.values())
misses = 0 if entry is None else sum(entry[False, False].stats.cache_misses.values())
print(fastbp.SOURCE_STAMP, entry is not None, hits, misses, repr(net.theta.tolist()))
"""


def _child(env_extra):
    env = dict(os.environ, PYTHONPATH=ROOT, **env_extra)
    out = subprocess.run([sys.executable, "-c", _CHILD], cwd="/", env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    stamp, used, hits, misses, theta = out.stdout.strip().splitlines()[-1].split(" ", 4)
    return used == "True", int(hits), int(misses), np.array(eval(theta)), stamp


def test_second_process_loads_from_the_cache(tmp_path):
    env = {"FASTBP_TINY": "1"}
    if not os.environ.get("NUMBA_CACHE_DIR"):
        env["NUMBA_CACHE_DIR"] = str(tmp_path)
    first = _child(env)
    second = _child(env)
    assert first[0] and second[0]
    if first[4] != second[4]:  # an edit of fastbp's source in between makes every entry stale
        pytest.skip("fastbp's source changed between the two processes")
    assert second[1] >= 1 and second[2] == 0  # a cache hit, nothing compiled
    np.testing.assert_array_equal(first[3], second[3])


def test_disable_jit_takes_the_generic_path():
    used, _, _, theta, _ = _child({"FASTBP_TINY": "1", "NUMBA_DISABLE_JIT": "1"})
    assert not used
    reference = _child({"FASTBP_TINY": "1"})[3]
    np.testing.assert_allclose(theta, reference, rtol=1e-12, atol=1e-15)
