"""Compiled code cannot go stale (issue "Trust", part 3) and read-only installs work (part 4).

Each case runs fastbp from a copy of the package in a child process (its own cache
folder, its own source), edits the copy's ``activations.sigmoid`` (a callee inlined into
the kernels of ``kernels.py``, which numba alone would not notice) and runs again.
"""
import os
import shutil
import stat
import subprocess
import sys
import textwrap

import pytest

import fastbp
from fastbp import cache

pytestmark = pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="the numba cache needs the JIT")

TIMEOUT = 300
SIGMOID = "    return (one if z >= cast_like(z, 0.0) else e) / (one + e)\n"
# the edited sigmoid: 0.25 everywhere (so predict of a zero network gives 0.25)
EDITED = "    return 0.25 + 0.0 * z\n"

PREDICT = """
import numpy as np, fastbp
net = fastbp.Network([1, 1], seed=0)
net.theta[:] = 0.0
print(float(net.predict(np.zeros((1, 1)))[0, 0]), fastbp.SOURCE_STAMP)
"""


def package_copy(root):
    """A copy of the fastbp package under ``root`` (without caches); returns its folder."""
    dst = os.path.join(root, "site", "fastbp")
    shutil.copytree(os.path.dirname(fastbp.__file__), dst,
                    ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    return dst


def edit_sigmoid(pkg):
    path = os.path.join(pkg, "activations.py")
    with open(path) as f:
        src = f.read()
    assert src.count(SIGMOID) == 1
    with open(path, "w") as f:
        f.write(src.replace(SIGMOID, EDITED))


def run(code, pkg, env=None, cwd=None):
    """Run ``code`` in a child importing the package copy ``pkg``; returns stdout (it must
    exit cleanly, not be killed by a signal)."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    full["PYTHONPATH"] = os.path.dirname(pkg)
    full.update(env or {})
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full,
                         cwd=cwd or os.path.dirname(pkg), capture_output=True, text=True,
                         timeout=TIMEOUT)
    assert res.returncode == 0, res.stderr[-3000:]
    return res


def cache_files(folder):
    return [os.path.join(d, f) for d, _, fs in os.walk(folder) for f in fs
            if f.endswith((".nbi", ".nbc"))]


@pytest.mark.parametrize("where", ["numba_cache_dir", "in_tree"])
def test_an_edit_of_an_inlined_callee_invalidates_the_cached_kernels(tmp_path, where):
    pkg = package_copy(str(tmp_path))
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "nc")} if where == "numba_cache_dir" else {}
    folder = str(tmp_path / "nc") if env else pkg
    value, stamp = run(PREDICT, pkg, env).stdout.split()
    assert float(value) == 0.5
    assert cache_files(folder), "the kernels were not cached where expected"
    again, stamp2 = run(PREDICT, pkg, env).stdout.split()
    assert (float(again), stamp2) == (0.5, stamp)
    edit_sigmoid(pkg)
    new, stamp3 = run(PREDICT, pkg, env).stdout.split()
    assert stamp3 != stamp
    assert float(new) == 0.25, "a cached kernel kept the old activation"


USER_CODE = """
import numpy as np, fastbp
from numba import njit
from fastbp import kernels
{watch}

@njit(cache=True)
def forward_one(theta, spec, ws, x):
    return kernels.forward(theta, spec, ws, x)[0]

net = fastbp.Network([1, 1], seed=0)
net.theta[:] = 0.0
print(forward_one(net.theta, net.spec, net.workspace(), np.zeros(1)))
"""


def test_watch_keys_a_users_cached_code_on_fastbps_source(tmp_path):
    pkg = package_copy(str(tmp_path))
    user = tmp_path / "user"
    user.mkdir()
    code = USER_CODE.format(watch="fastbp.cache.watch(__file__)")
    (user / "sim.py").write_text(textwrap.dedent(code))
    # imported from a file, so that numba caches it beside the file
    first = run("import sim", pkg, env={"PYTHONPATH": f"{os.path.dirname(pkg)}:{user}"},
                cwd=str(user)).stdout
    assert float(first) == 0.5 and cache_files(str(user))
    edit_sigmoid(pkg)
    second = run("import sim", pkg, env={"PYTHONPATH": f"{os.path.dirname(pkg)}:{user}"},
                 cwd=str(user)).stdout
    assert float(second) == 0.25, "the user's cached function kept fastbp's old code"


UNCACHABLE = """
import ctypes, ctypes.util, os, warnings
import numpy as np, fastbp
from numba import njit
fastbp.cache.watch(__file__)
labs = ctypes.CDLL(ctypes.util.find_library("c")).labs
labs.restype, labs.argtypes = ctypes.c_long, [ctypes.c_long]

@njit(cache=True)
def through_c(v):
    return labs(v)  # a ctypes pointer: numba cannot cache this function

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    print(through_c(-3), any("Cannot cache" in str(w.message) for w in caught))
"""


def test_a_watched_function_numba_cannot_cache_compiles_and_warns(tmp_path):
    # numba warns through its locator's source file; fastbp's locator once lacked it and
    # the warning became an AttributeError (seen with NUMBA_OPT=0, where a fastbp kernel
    # keeps dynamic globals)
    pkg = package_copy(str(tmp_path))
    user = tmp_path / "user"
    user.mkdir()
    (user / "sim.py").write_text(textwrap.dedent(UNCACHABLE))
    out = run("import sim", pkg, env={"PYTHONPATH": f"{os.path.dirname(pkg)}:{user}"},
              cwd=str(user)).stdout.split()
    assert out == ["3", "True"]


def test_watch_checks_its_argument(tmp_path):
    with pytest.raises(TypeError, match="path must be"):
        cache.watch(3)
    with pytest.raises(ValueError, match="does not exist"):
        cache.watch(str(tmp_path / "nope.py"))


def test_source_stamp_is_a_hash_of_the_source(tmp_path):
    pkg = package_copy(str(tmp_path))
    assert cache.source_stamp(pkg) == fastbp.SOURCE_STAMP == cache.SOURCE_STAMP
    edit_sigmoid(pkg)
    assert cache.source_stamp(pkg) != fastbp.SOURCE_STAMP


def test_clear_cache_deletes_fastbps_cache_files(tmp_path):
    pkg = package_copy(str(tmp_path))
    env = {"NUMBA_CACHE_DIR": str(tmp_path / "nc")}
    run(PREDICT, pkg, env)
    run(PREDICT, pkg)
    assert cache_files(str(tmp_path / "nc")) and cache_files(pkg)
    out = run("import fastbp; print(fastbp.clear_cache())", pkg, env).stdout
    assert int(out) > 0
    assert cache_files(str(tmp_path / "nc")) == []
    assert cache_files(pkg) == []
    assert float(run(PREDICT, pkg, env).stdout.split()[0]) == 0.5


def make_read_only(pkg):
    """The package copy as a read-only install: its folders cannot take a ``__pycache__``,
    even for root (a plain file stands where the folder would be created)."""
    for folder, dirs, _ in os.walk(pkg):
        with open(os.path.join(folder, "__pycache__"), "w"):
            pass
    for folder, dirs, files in os.walk(pkg):
        for name in files + dirs:
            p = os.path.join(folder, name)
            os.chmod(p, os.stat(p).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
        os.chmod(folder, os.stat(folder).st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


TRAIN = """
import warnings, numpy as np
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import fastbp
    net = fastbp.Network([2, 3, 1], seed=0)
    X = np.random.default_rng(0).random((50, 2)); Y = X[:, :1] * X[:, 1:]
    net.fit(X, Y, epochs=2)
    fastbp.Population([2, 3, 1], 2).fit(X, Y, epochs=1)
print(len([w for w in caught if "cache" in str(w.message)]), net.loss(X, Y))
"""


def test_read_only_install_with_a_read_only_home_imports_and_trains(tmp_path):
    pkg = package_copy(str(tmp_path))
    make_read_only(pkg)
    try:
        # a home and cache folder that cannot be created, even by root
        env = {"HOME": "/dev/null/home", "XDG_CACHE_HOME": "/dev/null/cache"}
        warnings, loss = run(TRAIN, pkg, env).stdout.split()
        assert int(warnings) == 1
        assert float(loss) < 1.0
        assert cache_files(str(tmp_path)) == []
    finally:
        for folder, dirs, files in os.walk(str(tmp_path)):
            os.chmod(folder, 0o755)


HELPERS_FIRST = """
import numpy as np, fastbp
from fastbp import activations, losses, _inlining
X = np.random.default_rng(0).random((40, 3)); Y = (X[:, :1] > .5).astype(float)
fastbp.Network([3, 5, 1], seed=0).fit(X, Y, epochs=1, lr=0.1)
# the helpers were compiled into the pass; their own libraries hold no machine code
for helper in (activations.activate, activations.mul_derivative, losses.output_delta):
    (cres,) = helper.overloads.values()
    assert isinstance(cres.library, _inlining.LinkOnlyLibrary), type(cres.library)
    assert not [f for f in cres.library._final_module.functions if not f.is_declaration]
print("ok")
"""

HELPERS_LATER = """
import numpy as np, fastbp
X = np.random.default_rng(0).random((40, 3)); Y = (X[:, :1] > .5).astype(float)
net = fastbp.Network([3, 5, 1], seed=0)
net.fit(X, Y, epochs=2, lr=0.1, batch_size=8)
net.fit(X, Y, epochs=2, lr=0.1, optimizer="adam", dropout=0.2)
print(net.theta.tobytes().hex())
"""


def test_internal_helpers_cached_in_one_process_link_into_passes_compiled_in_the_next(tmp_path):
    # fastbp._jit.internal helpers keep no machine code (_inlining.LinkOnlyLibrary): a later
    # process that compiles a new pass loads them from the cache and links their IR; it must
    # train exactly as a process that compiles everything afresh (not crash: the cached
    # helper's module holds only its environment pointer)
    pkg = package_copy(str(tmp_path))
    warm = {"NUMBA_CACHE_DIR": str(tmp_path / "warm")}
    assert run(HELPERS_FIRST, pkg, warm).stdout.split() == ["ok"]
    later = run(HELPERS_LATER, pkg, warm).stdout.split()
    fresh = run(HELPERS_LATER, pkg, {"NUMBA_CACHE_DIR": str(tmp_path / "fresh")}).stdout.split()
    assert later == fresh and len(later) == 1
