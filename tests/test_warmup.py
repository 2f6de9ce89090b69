"""fastbp.warmup compiles what a later fit uses: that fit adds no compiled signature."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastbp

W = sys.modules["fastbp.warmup"]  # the module (fastbp.warmup is the function)


CHILD = r"""
import gc
import numpy as np
from numba.core.registry import CPUDispatcher
import fastbp


def signatures():
    # compiled (or cache-loaded) signatures of every fastbp dispatcher in this process
    return sum(len(o.signatures) for o in gc.get_objects()
               if issubclass(type(o), CPUDispatcher)
               and getattr(o.py_func, "__module__", "").startswith("fastbp"))


seconds = fastbp.warmup(dtypes=("float32",), paths=("sgd", "minibatch", "predict"))
assert set(seconds) == {("float32", p) for p in ("sgd", "minibatch", "predict")}, seconds
assert all(s >= 0 for s in seconds.values())
before = signatures()
assert before > 0
rng = np.random.default_rng(5)
X = rng.normal(size=(50, 7)).astype(np.float32)
y = rng.integers(0, 3, 50)
# other sizes, depth, activations and loss than warmup's tiny net: run-time data
net = fastbp.Network([7, 6, 5, 3], hidden=("tanh", "relu"), output="softmax",
                     dtype="float32", seed=1)
net.fit(X, y, epochs=2, lr=0.05, l2=1e-3)
net.fit(X, y, epochs=1, lr=0.05, batch_size=8, validation_data=(X, y))
net.predict(X)
net.predict(X[0])
net.predict(X[0].tolist())  # packed into the workspace: predict_loaded
net.partial_fit(X[0].tolist(), 1, lr=0.01)  # packed, then cast to float32: load_packed
after = signatures()
assert after == before, (before, after)
# a path warmup did not run does compile (the count can move: the test can fail)
net.fit(X, y, epochs=1, lr=0.01, optimizer="adam")
assert signatures() > before
print("ok")
"""


def test_a_fit_after_warmup_compiles_nothing():
    # a fresh process: in the test session other tests have compiled every path already
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True,
                         timeout=900, cwd="/", env=dict(os.environ))
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


@pytest.mark.parametrize("kwargs, match", [
    ({"dtypes": ("float16",)}, "dtypes has 'float16'"),
    ({"dtypes": ("nonsense",)}, "dtypes has 'nonsense'"),
    ({"paths": ("sgd", "hogwild")}, "paths has 'hogwild'"),
    ({"paths": (3,)}, "paths has 3"),
])
def test_unknown_names_are_refused_before_any_work(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastbp.warmup(**kwargs)


def test_dtype_spellings_and_a_single_name():
    assert W._names("dtypes", np.float64, W.DTYPES, W._dtype_name) == ("float64",)
    assert W._names("dtypes", "f4", W.DTYPES, W._dtype_name) == ("float32",)
    assert W._names("paths", "sgd", tuple(W.PATHS)) == ("sgd",)
    with pytest.raises(TypeError, match="paths must be a sequence"):
        fastbp.warmup(paths=5)


PLAIN_SGD_ONLY = r"""
import numpy as np
import fastbp
from fastbp import _blocks

rows = [f.kernel for f in (_blocks.optimizer_plain, _blocks.optimizer_back,
                           _blocks.optimizer_bias, _blocks.optimizer_mean)]
rng = np.random.default_rng(0)
X = rng.normal(size=(20, 3))
Y = rng.random((20, 2))
net = fastbp.Network([3, 4, 2], seed=0)
net.fit(X, Y, epochs=1, lr=0.1)
net.fit(X, Y, epochs=1, lr=0.1, batch_size=4)
assert not any(k.signatures for k in rows), [k.signatures for k in rows]
# the mini-batch path reuses the per-example path's activation and loss code (same types)
for f in (fastbp.activations.activate, fastbp.activations.mul_derivative,
          fastbp.losses.output_delta):
    assert len(f.signatures) == 1, (f, f.signatures)
# kernels.epoch runs plain SGD's skeletons with Network.fit's argument types: it shares
# their compiled code (and never compiles epochs.train's every-path dispatch)
from fastbp import epochs, kernels
net.fit(X, Y, epochs=1, lr=0.1, l2=1e-3)
counts = len(epochs.train_examples.signatures), len(epochs.train_batches.signatures)
assert counts == (2, 1), counts
th = net.theta.copy()
for bs in (1, 4):
    kernels.epoch(th, net.spec, net.workspace(), X, Y, np.arange(20), 0.1, 0.0, bs)
counts2 = len(epochs.train_examples.signatures), len(epochs.train_batches.signatures)
assert counts2 == counts and not epochs.train.signatures, (counts2, epochs.train.signatures)
assert not any(k.signatures for k in rows), [k.signatures for k in rows]
net.fit(X, Y, epochs=1, lr=0.1, optimizer="momentum")  # the same kernels do compile
assert all(k.signatures for k in rows[:3]), [k.signatures for k in rows]
# optim.epoch (every path, through epochs.train) shares the plain-SGD skeletons too: it adds
# only the two dropout specialisations, not a second no-dropout one
from fastbp import optim
opt = optim.make_state("sgd", net.n_params, net.dtype, 0.1, 0.0)
optim.epoch(th, net.spec, net.workspace(), opt, optim.make_dropout((0.0,), 3, net.dtype, 0),
            X, Y, np.arange(20), 1)
assert len(epochs.train_examples.signatures) == 5, epochs.train_examples.signatures
print("ok")
"""


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="counts compiled signatures")
def test_plain_sgd_compiles_no_optimizer_kernel(tmp_path):
    # the row kernels of the stateful optimisers sit in branches plain SGD never takes; numba
    # would type and compile them anyway (1.9 s of a first fit) but for _jit.unless_code; and
    # the mini-batch path compiled the activations and the loss a second time for its row
    # views' type (1.9 s). A fresh cache folder: cache-loaded entries would not show their
    # callees at all.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PLAIN_SGD_ONLY], capture_output=True,
                         text=True, timeout=900, cwd="/", env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]
