"""fastbp.warmup compiles what a later fit uses: that fit adds no compiled signature."""
import collections
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
net.fit(X, y, epochs=1, lr=0.05, batch_size=8, dropout=0.2)
net.fit(X, y, epochs=1, lr=0.05, batch_size=8, optimizer="momentum", dropout=0.2)
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

rows = [f for f in (_blocks.optimizer_plain, _blocks.optimizer_back,
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
def counts():  # compiled signatures of the per-example and the mini-batch passes
    return (sum(len(p.signatures) for p in epochs.EXAMPLE_PASSES.values()),
            sum(len(p.signatures) for p in epochs.BATCH_PASSES.values()))
assert counts() == (2, 1), counts()
th = net.theta.copy()
for bs in (1, 4):
    kernels.epoch(th, net.spec, net.workspace(), X, Y, np.arange(20), 0.1, 0.0, bs)
assert counts() == (2, 1) and not epochs.train.signatures, (counts(), epochs.train.signatures)
# nor do partial_fit's kernel and kernels.sgd_step in a user's loop (their code is the global
# rules.SGD: as a module attribute, rules.SGD, numba's pruning did not see it)
# ... and reuse the helpers the fits compiled, as does a one-row predict: their kernels
# borrow the workspace's rows as the passes do (a plain units[0] row is a type of its own,
# for which a first partial_fit after a fit compiled every helper again)
from fastbp import _jit, activations, losses
helpers = [o for m in (_blocks, activations, losses) for o in vars(m).values()
           if isinstance(o, _jit._CompiledOnly)]
before = {h.py_func.__name__: len(h.signatures) for h in helpers}
net.partial_fit(X[0], Y[0], lr=0.1)
net.predict(X[0])
after = {h.py_func.__name__: len(h.signatures) for h in helpers}
assert after == before and before["activate"] == 1, (before, after)
import numba
@numba.njit
def user_loop(theta, spec, ws, X, Y, lr):
    return kernels.sgd_step(theta, spec, ws, X[0], Y[0], lr)
user_loop(th, net.spec, net.workspace(), X, Y, 0.1)
kernels.apply_gradient(th, net.spec, net.workspace(), 0.1, 0.0, 1)
assert not any(k.signatures for k in rows), [k.signatures for k in rows]
net.fit(X, Y, epochs=1, lr=0.1, optimizer="momentum")  # the same kernels do compile
assert all(k.signatures for k in rows[:3]), [k.signatures for k in rows]
# optim.epoch from Python takes the pass Network.fit takes (epochs.run): nothing new here
from fastbp import optim
opt = optim.make_state("sgd", net.n_params, net.dtype, 0.1, 0.0)
no_drop = optim.make_dropout((0.0,), 3, net.dtype, 0)
optim.epoch(th, net.spec, net.workspace(), opt, no_drop, X, Y, np.arange(20), 1)
# (plain SGD's two per-example passes, the momentum fit's, plain SGD's mini-batch pass)
assert counts() == (3, 1) and not epochs.train.signatures, (counts(), epochs.train.signatures)
# from a user's compiled code it chooses at run time (epochs.train): every pass, sharing
# plain SGD's; its mini-batch passes read dropout at run time
@numba.njit
def user_epoch(theta, spec, ws, opt, drop, X, Y, order, batch_size):
    return optim.epoch(theta, spec, ws, opt, drop, X, Y, order, batch_size)
user_epoch(th, net.spec, net.workspace(), opt, no_drop, X, Y, np.arange(20), 1)
assert counts() == (6, 3), counts()
# the two forms agree bit for bit (through the same pass or through train's)
for optimizer, rate, bs in (("sgd", 0.0, 1), ("adam", 0.3, 1), ("momentum", 0.3, 4),
                            ("sgd", 0.3, 4), ("adam", 0.0, 4)):
    got = []
    for f in (optim.epoch, user_epoch):
        th2 = net.theta.copy()
        st = optim.make_state(optimizer, net.n_params, net.dtype, 0.1, 1e-3)
        dr = optim.make_dropout((rate,), 3, net.dtype, 7)
        total = f(th2, net.spec, net.workspace(), st, dr, X, Y, np.arange(20)[::-1].copy(), bs)
        got.append((total, th2, st.m, st.v, dr.counter))
        try:
            f(th2, net.spec, net.workspace(), st, dr, X, Y, np.arange(20), 0)
        except ValueError as e:
            assert "batch_size" in str(e), e
        else:
            raise AssertionError("batch_size 0 accepted")
    assert got[0][0] == got[1][0], (optimizer, rate, bs, got[0][0], got[1][0])
    assert all(np.array_equal(a, b) for a, b in zip(got[0][1:], got[1][1:])), (optimizer, rate, bs)
print("ok")
"""


def _typed_statements_from(pass_, filename):
    """How many statements of an uncached compile of the epoch pass ``pass_`` (after
    inlining and pruning, as typed) come from fastbp's ``filename``."""
    from numba import njit

    from fastbp._jit import FASTMATH

    kernel = njit(fastmath=set(FASTMATH), error_model="numpy")(pass_.py_func)
    net = fastbp.Network([2, 4, 1], seed=0)
    X = np.random.default_rng(0).random((9, 2))
    opt = fastbp.optim.make_state("sgd", net.n_params, net.dtype, 0.1)
    drop = fastbp.optim.make_dropout([0.5], 3, net.dtype, 0)
    kernel(net.theta.copy(), net.spec, net.workspace(), opt, drop, X, X[:, :1], np.arange(9))
    (cres,) = kernel.overloads.values()
    return sum(st.loc.filename.endswith(os.sep + filename)
               for block in cres.type_annotation.blocks.values() for st in block.body)


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="inspects compiled IR")
def test_plain_sgd_pass_prunes_the_branches_of_its_flags_before_typing():
    # the flags are closure constants, so numba drops the dropout code from the pass
    # without dropout before typing it (as literal arguments, 540 of the 4264 typed
    # statements of plain SGD's pass were dropout's)
    from fastbp import epochs

    assert _typed_statements_from(epochs.sgd_examples, "dropout.py") == 0
    assert _typed_statements_from(epochs.sgd_examples_dropout, "dropout.py") > 100


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="inspects numba's inlining")
def test_blocks_are_inlined_one_level_at_a_time(monkeypatch):
    # a block's own blocks stay calls in its IR and are inlined in the kernel: no inlined
    # IR is a block made of blocks (backward_update with its sgd_rows inside was 121
    # numba blocks, copied at a cost of blocks x variables)
    from numba import njit
    from numba.core import inline_closurecall

    from fastbp import epochs
    from fastbp._jit import FASTMATH

    sizes = {}
    real = inline_closurecall.InlineWorker.inline_ir

    def inline_ir(self, caller_ir, block, i, callee_ir, *args, **kws):
        name = callee_ir.func_id.func_qualname
        sizes[name] = max(sizes.get(name, 0), len(callee_ir.blocks))
        return real(self, caller_ir, block, i, callee_ir, *args, **kws)

    monkeypatch.setattr(inline_closurecall.InlineWorker, "inline_ir", inline_ir)
    kernel = njit(fastmath=set(FASTMATH), error_model="numpy")(epochs.sgd_examples.py_func)
    net = fastbp.Network([2, 4, 1], seed=0)
    X = np.random.default_rng(0).random((9, 2))
    opt = fastbp.optim.make_state("sgd", net.n_params, net.dtype, 0.1)
    drop = fastbp.optim.make_dropout([0.0], 3, net.dtype, 0)
    kernel(net.theta.copy(), net.spec, net.workspace(), opt, drop, X, X[:, :1], np.arange(9))
    assert "sgd_rows" in sizes and "backward_update" in sizes, sizes
    assert sizes["backward_update"] < 40, sizes


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="inspects numba's inlining")
def test_fastbp_inlining_pass_builds_the_same_code_as_numbas():
    # fastbp's kernels compile with _inlining.Compiler: numba's pipeline whose inlining pass
    # builds each block's IR once and copies it once per call site (a first plain fit 4.73
    # -> 3.88 s) and whose type inference remembers call signatures (3.65 -> 3.2 s). An
    # uncached compile of the per-example pass either way: the same typed variables, the
    # same LLVM instructions (only names and labels differ), the same numbers; no block is
    # left with the copy's class, the blocks' IR is cached, signatures were remembered and
    # numba's own resolution is back in place
    import gc
    import re

    from numba import njit

    from fastbp import _inlining, epochs
    from fastbp._jit import FASTMATH

    net = fastbp.Network([2, 4, 1], seed=0)
    X = np.random.default_rng(0).random((9, 2))
    opt = fastbp.optim.make_state("sgd", net.n_params, net.dtype, 0.1)
    drop = fastbp.optim.make_dropout([0.0], 3, net.dtype, 0)
    out = []
    for extra in ({}, {"pipeline_class": _inlining.Compiler}):
        kernel = njit(fastmath=set(FASTMATH), error_model="numpy", **extra)(
            epochs.sgd_examples.py_func)
        theta = net.theta.copy()
        cost = kernel(theta, net.spec, net.workspace(), opt, drop, X, X[:, :1], np.arange(9))
        llvm = "\n".join(kernel.inspect_llvm().values())
        code = [re.sub(r"\s+", " ", re.sub(r"[%@][-\w.$]+|\d+", "_", line))
                for line in llvm.splitlines() if not line.lstrip().startswith(";")]
        typed = kernel.overloads[kernel.signatures[0]].type_annotation.typemap
        out.append((theta, cost, code, len(typed)))
    (t0, c0, code0, n0), (t1, c1, code1, n1) = out
    assert np.array_equal(t0, t1) and c0 == c1
    assert n0 == n1 and code0 == code1
    assert not [o for o in gc.get_objects() if type(o) is _inlining._Copied]
    cached = {f.__name__ for f, _ in _inlining._untyped_cache}
    assert {"sgd_rows", "backward_update"} <= cached, cached
    from numba.core.types.functions import BaseFunction
    assert _inlining._signatures and BaseFunction.get_call_type is _inlining._numba_call_type


def _inlined_into(pass_, optimizer, monkeypatch):
    """The qualified names of the blocks numba inlines into an uncached compile of the epoch
    pass ``pass_`` (run with ``optimizer``), with how many times each is inlined."""
    from numba import njit
    from numba.core import inline_closurecall

    from fastbp._jit import FASTMATH

    names = collections.Counter()
    real = inline_closurecall.InlineWorker.inline_ir

    def inline_ir(self, caller_ir, block, i, callee_ir, *args, **kws):
        names[callee_ir.func_id.func_qualname] += 1
        return real(self, caller_ir, block, i, callee_ir, *args, **kws)

    monkeypatch.setattr(inline_closurecall.InlineWorker, "inline_ir", inline_ir)
    kernel = njit(fastmath=set(FASTMATH), error_model="numpy")(pass_.py_func)
    net = fastbp.Network([2, 4, 1], seed=0)
    X = np.random.default_rng(0).random((9, 2))
    opt = fastbp.optim.make_state(optimizer, net.n_params, net.dtype, 0.1)
    drop = fastbp.optim.make_dropout([0.0], 3, net.dtype, 0)
    kernel(net.theta.copy(), net.spec, net.workspace(), opt, drop, X, X[:, :1], np.arange(9))
    return names


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="inspects numba's inlining")
def test_blocks_behind_constant_branches_are_not_inlined(monkeypatch):
    # numba prunes a kernel's constant branches only after inlining; fastbp._inlining keeps
    # the calls they cut off as calls (the stateful optimisers' pass inlined plain SGD's
    # sgd_rows three times, and the pass without dropout the dropout blocks, for nothing)
    from fastbp import epochs

    stateful = _inlined_into(epochs.optimizer_examples, "adam", monkeypatch)
    assert "backward_update" in stateful and "sgd_rows" not in stateful, stateful
    assert "drop_layer" not in stateful, stateful
    plain = _inlined_into(epochs.sgd_examples, "sgd", monkeypatch)
    assert "drop_layer" not in plain, plain
    # backward_update's BACK rows and the first layer's FWD rows (the biases are a call of
    # sgd_bias); not the input layer's PLAIN rows of backward_update, which the pass
    # (lowest = 1) never runs
    assert plain["sgd_rows"] == 2, plain
    assert "drop_layer" in _inlined_into(epochs.optimizer_examples_dropout, "adam", monkeypatch)


def test_reachability_of_calls_follows_only_constant_branches():
    # the inline decision skips a call only where constants decide it cannot run
    from numba.core import ir
    from numba.core.compiler import run_frontend

    from fastbp import _inlining

    OFF, CODE = False, None

    def g():
        return 0

    def f(x):
        flag = OFF
        if x > 0:
            flag = True
        if CODE is None:
            a = g()  # reachable: CODE is None
        else:
            a = g()  # cut off
        if OFF:
            a = g()  # cut off: bool() of a closure constant
        if flag:
            a = g()  # reachable: flag has two definitions
        if x == 1:
            a = g()  # reachable: x is an argument
        return a

    func_ir = run_frontend(f)
    calls = sorted(((st.loc.line, st.value) for block in func_ir.blocks.values()
                    for st in block.body if isinstance(st, ir.Assign)
                    and isinstance(st.value, ir.Expr) and st.value.op == "call"
                    and getattr(func_ir.get_definition(st.value.func), "name", "") == "g"),
                   key=lambda lc: lc[0])
    assert len(calls) == 5
    assert [_inlining._can_run(func_ir.blocks, call) for _, call in calls] == \
        [True, False, False, True, True]


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="counts compiled signatures")
def test_plain_sgd_compiles_no_optimizer_kernel(tmp_path):
    # the row kernels of the stateful optimisers sit in branches plain SGD never takes; numba
    # would type and compile them anyway (1.9 s of a first fit) but that the passes' flags
    # are closure constants, whose branches numba prunes before typing; and
    # the mini-batch path compiled the activations and the loss a second time for its row
    # views' type (1.9 s). A fresh cache folder: cache-loaded entries would not show their
    # callees at all.
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", PLAIN_SGD_ONLY], capture_output=True,
                         text=True, timeout=900, cwd="/", env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def test_every_kernel_compiles_from_a_roomy_frame():
    """Every fastbp dispatcher starts its compilations through ``_jit.in_roomy_frame``: the
    compiler's frames are pushed behind it, wherever the caller stands (CPython's chunked
    frame stack, see ``in_roomy_frame``)."""
    from numba import njit, types
    from numba.core.registry import CPUDispatcher
    from numba.extending import overload

    from fastbp import _jit

    # the kernels and blocks fastbp's modules define (not numba's dispatchers for overload
    # implementations, nor the bench's loop written as a user would write it)
    ours = [o for name, mod in list(sys.modules.items())
            if name.startswith("fastbp") and name != "fastbp.bench.userloop"
            for o in vars(mod).values()
            if issubclass(type(o), CPUDispatcher) and o.py_func.__module__ == name]
    assert len(ours) > 20
    assert all("_compile_for_args" in vars(d) for d in ours), \
        [d.py_func.__qualname__ for d in ours if "_compile_for_args" not in vars(d)]

    seen = []

    def probe(x):
        return x

    @overload(probe)
    def _probe_typing(x):  # runs while numba types the caller: record who is compiling
        frame = sys._getframe()
        while frame is not None:
            seen.append(frame.f_code)
            frame = frame.f_back
        return lambda x: x

    def caller(x):
        return probe(x) + 1

    compiled = _jit._compiled_roomily(njit(caller))
    assert compiled(1.5) == 2.5
    assert _jit.in_roomy_frame.__code__ in seen
    assert compiled.signatures == [(types.float64,)]


def _page_faults_of_calls(depth, wrap, calls=2000):
    """Minor page faults of ``calls`` calls made ``depth`` frames below here."""
    import resource

    def leaf():
        return None

    def loop():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(calls):
            leaf()
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

    def down(n):
        return loop() if n == 0 else down(n - 1)

    return wrap(down, depth)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="frames on the chunked data stack from 3.11")
def test_a_roomy_frame_stops_chunk_thrashing():
    """The premise of ``in_roomy_frame`` and its cure: on CPython 3.11/3.12 one depth puts
    a call on a frame-chunk boundary, and each such call maps a fresh chunk (at least one
    page fault per call); behind ``in_roomy_frame`` no depth does."""
    from fastbp import _jit

    def plain(f, *args):
        return f(*args)

    depths = range(600)
    worst_roomy = max(_page_faults_of_calls(d, _jit.in_roomy_frame) for d in depths)
    assert worst_roomy < 200, worst_roomy
    if sys.version_info < (3, 13):  # later 3.13 and 3.14 releases cache a spare chunk
        worst_plain = max(_page_faults_of_calls(d, plain) for d in depths)
        assert worst_plain >= 2000, worst_plain


POPULATION_ONE_SKELETON = r"""
import numpy as np
import fastbp
from fastbp import epochs

rng = np.random.default_rng(0)
X, Y = rng.random((40, 3)), rng.random((40, 2))
fastbp.Population([3, 4, 2], 2).fit(X, Y, epochs=1, lr=0.1)
def counts():  # compiled signatures of the per-example and the mini-batch passes
    return (sum(len(p.signatures) for p in epochs.EXAMPLE_PASSES.values()),
            sum(len(p.signatures) for p in epochs.BATCH_PASSES.values()))
assert counts() == (1, 0), counts()
import numba
if numba.config.NUMBA_NUM_THREADS >= 2:  # Hogwild: the same skeleton, nothing new
    fastbp.Network([3, 4, 2], seed=0).fit(X, Y, epochs=1, lr=0.1, n_threads=2)
    assert counts() == (1, 0), counts()
fastbp.Population([3, 4, 2], 2).fit(X, Y, epochs=1, lr=0.1, batch_size=8)
assert counts() == (1, 1), counts()
print("ok")
"""


def test_population_compiles_only_the_skeleton_it_runs(tmp_path):
    # Population.fit (and Hogwild) run Network.fit's pass on Python threads (epochs.run): a
    # first fit per example compiles that pass alone, not the decay and mini-batch ones that
    # kernels.epoch's run-time choice compiles (a cold first Population.fit 25.6-26.4 ->
    # 13.0-13.5 s with the path a literal of a prange kernel, and no compile of its own now)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path))
    out = subprocess.run([sys.executable, "-c", POPULATION_ONE_SKELETON], capture_output=True,
                         text=True, timeout=900, cwd="/", env=env)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


def _internal_helpers():
    """Every ``_jit.internal`` dispatcher of fastbp's modules (by module attribute and
    inside the row-kernel tables)."""
    import importlib
    import pkgutil

    from fastbp import _jit
    found = {}
    for info in pkgutil.walk_packages(fastbp.__path__, "fastbp."):
        if info.name.endswith("__main__"):  # runs a command when imported
            continue
        try:
            mod = importlib.import_module(info.name)
        except ImportError:  # an optional extra's face (dask, river, onnx...) not installed
            continue
        for name, obj in vars(mod).items():
            objs = obj if isinstance(obj, tuple) else (obj,)
            for o in objs:
                if isinstance(o, _jit._CompiledOnly):
                    found[f"{o.py_func.__module__}.{o.py_func.__qualname__}"] = o
    return found


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="plain Python functions without the JIT")
def test_internal_helpers_raise_from_python_and_carry_no_wrappers():
    # the per-layer helpers only compiled code calls are compiled without numba's Python and
    # C wrappers (a first plain fit's compile time); a call from Python must raise, not jump
    # through the entry point numba never built
    helpers = _internal_helpers()
    for name in ("fastbp.activations.activate", "fastbp.activations.mul_derivative",
                 "fastbp.losses.output_delta", "fastbp.losses.cost", "fastbp.rules.consts",
                 "fastbp.rules.next_consts", "fastbp._blocks.forward_rows"):
        assert name in helpers, sorted(helpers)
    z = np.zeros(4)
    for name, d in helpers.items():
        assert d.targetoptions["no_cpython_wrapper"] and d.targetoptions["no_cfunc_wrapper"]
        with pytest.raises(TypeError, match=name.replace(".", r"\.") + " runs only inside"):
            d(0, z, z, 0, 4)
    # ... while compiled code calls them as before (and the helper's own dispatcher compiles)
    from numba import njit

    @njit
    def user(z, a):
        fastbp.activations.activate(fastbp.activations.SIGMOID, z, a, np.uint64(0),
                                    np.uint64(4))

    a = np.empty(4)
    user(np.zeros(4), a)
    assert np.array_equal(a, np.full(4, 0.5))  # sigmoid(0)
    assert fastbp.activations.activate.py_func is not None


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="nothing is compiled without the JIT")
@pytest.mark.parametrize("user_off", [False, True])
def test_compiles_run_with_the_garbage_collector_paused(user_off):
    # fastbp's compilations pause Python's cyclic GC (_inlining.gc_paused: it ran through
    # the compiler's millions of objects over and over), from Python and from a user's
    # @njit code, and leave it as they found it
    import gc

    from numba import njit
    from numba.extending import overload

    from fastbp import _inlining, _jit

    seen = []

    def probe(where):  # typing a call to it records whether the collector is on
        pass

    @overload(probe, prefer_literal=True)
    def _probe_typed(where):
        seen.append((where.literal_value, gc.isenabled()))
        return lambda where: None

    def kernel(x):
        probe("python")
        return x + 1.0

    def helper(x):
        probe("user")
        return x + 1.0

    from_python = _jit._compiled_roomily(njit(pipeline_class=_inlining.Compiler)(kernel))
    in_user = njit(pipeline_class=_inlining.Compiler)(helper)

    def user(x):
        return in_user(x) * 2.0

    was = gc.isenabled()
    try:
        if user_off:
            gc.disable()
        assert from_python(1.0) == 2.0
        assert njit(user)(1.0) == 4.0
        assert sorted(seen) == [("python", False), ("user", False)], seen
        assert gc.isenabled() is not user_off
    finally:
        if was:
            gc.enable()


@pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="inspects compiled IR")
def test_internal_helpers_are_optimised_only_in_their_callers():
    # an internal helper's linkable IR is its functions' IR, not LLVM's whole module
    # pipeline's output: its callers link and optimise it in their own modules, where it is
    # inlined (optimised on its own as well, the helper's loops came vectorised with no
    # call site in view; a first plain fit compiled 0.35 s longer)
    net = fastbp.Network([3, 4, 2], seed=0)
    X = np.random.default_rng(0).random((8, 3))
    net.fit(X, X[:, :2], epochs=1, lr=0.1)
    seen = 0
    for helper in (fastbp.activations.activate, fastbp._blocks.row_sweeps):
        for cres in helper.overloads.values():
            ir = str(cres.library._get_module_for_linking())
            assert "llvm.loop.isvectorized" not in ir and " x double>" not in ir, helper
            seen += 1
    assert seen >= 2
