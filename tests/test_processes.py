"""Forked children, numba's threading layer and thread count (issue "Trust", part 4).

The fork cases run in a fresh interpreter (the threading layer is chosen once per process)
and assert that neither the parent nor the forked child was killed by a signal.
"""
import os
import subprocess
import sys
import textwrap

import numba
import numpy as np
import pytest

import fastbp
from conftest import two_threads
from fastbp import threads

TIMEOUT = 300
needs_jit = pytest.mark.skipif(fastbp._jit.JIT_DISABLED, reason="threading layers need the JIT")

FORK = """
import multiprocessing as mp, sys
import numba, numpy as np, fastbp
from fastbp import parallel, threads
X = np.random.default_rng(0).random((200, 2)); Y = X[:, :1] * X[:, 1:]

def launch():  # a parallel launch of fastbp's public prange kernel
    pop = fastbp.Population([2, 3, 1], 2)
    units, grads = parallel.workspaces(pop.layout, 2, pop.dtype)
    orders = np.stack([np.arange(200)] * 2)
    with threads.pool(2):
        parallel.population_epoch(pop.thetas, pop.spec, units, grads, X, Y, orders,
                                  np.array([0.1, 0.1]), 0.0, 1, np.zeros(2))

def child(q):
    try:
        net = fastbp.Network([2, 3, 1], seed=0)
        net.fit(X, Y, epochs=2)
        fastbp.Population([2, 3, 1], 2).fit(X, Y, epochs=1)  # Python threads: no launch
        net.fit(X, Y, epochs=1, n_threads=2)
        launch()
        q.put("trained %r" % float(net.loss(X, Y)))
    except RuntimeError as exc:
        q.put("refused " + str(exc))

if __name__ == "__main__":
    {parent}
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=child, args=(q,))
    p.start()
    p.join({timeout})
    print(numba.threading_layer(), p.exitcode, q.get(timeout=5) if p.exitcode == 0 else None)
"""
# Population.fit and Hogwild run on Python threads: a parent that only used them has made
# no parallel launch (numba.threading_layer() would raise); the prange kernel has
PARENTS = {
    "population_epoch": "fastbp.Population([2, 3, 1], 2).fit(X, Y, epochs=1); launch()",
    "hogwild": "fastbp.Network([2, 3, 1], seed=0).fit(X, Y, epochs=1, n_threads=2); launch()",
}


def run_script(tmp_path, code, env=None):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(code))
    full = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    full.update(env or {})
    res = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                         timeout=TIMEOUT, env=full, cwd=str(tmp_path))
    assert res.returncode == 0, f"exit {res.returncode}: {res.stderr[-3000:]}"
    return res.stdout.split(maxsplit=2)


@needs_jit
@two_threads
@pytest.mark.parametrize("parent", sorted(PARENTS))
def test_a_child_forked_after_parallel_training_trains(tmp_path, parent):
    layer, exitcode, message = run_script(
        tmp_path, FORK.format(parent=PARENTS[parent], timeout=TIMEOUT // 2))
    assert layer in ("workqueue", "tbb"), "fastbp chose a threading layer that is not fork-safe"
    assert exitcode == "0", f"the forked child was killed (exit code {exitcode})"
    assert message.startswith("trained")
    assert float(message.split()[1]) < 1.0


def omp_available():
    res = subprocess.run([sys.executable, "-c", "from numba.np.ufunc import omppool"],
                         capture_output=True, timeout=60)
    return res.returncode == 0


@needs_jit
def test_under_gnu_openmp_a_forked_child_gets_an_error_not_a_kill(tmp_path):
    if not omp_available():
        pytest.skip("numba's OpenMP layer is not installed")
    layer, exitcode, message = run_script(
        tmp_path, FORK.format(parent=PARENTS["population_epoch"], timeout=TIMEOUT // 2),
        env={"NUMBA_THREADING_LAYER": "omp"})
    assert layer == "omp"
    assert exitcode == "0"
    assert message.startswith("refused") and "spawn" in message and "NUMBA_THREADING_LAYER" \
        in message


def test_an_explicit_threading_layer_is_left_alone(tmp_path):
    code = """
    import numba, fastbp
    print(numba.config.THREADING_LAYER, 0, 0)
    """
    layer, _, _ = run_script(tmp_path, code, env={"NUMBA_THREADING_LAYER": "workqueue"})
    assert layer == "workqueue"
    layer, _, _ = run_script(tmp_path, code)
    assert layer == "forksafe"


def data():
    X = np.random.default_rng(0).random((300, 2))
    return X, X[:, :1] * X[:, 1:]


@pytest.mark.parametrize("n_threads", [1, pytest.param(2, marks=two_threads)])
def test_parallel_fits_restore_numbas_thread_count(n_threads):
    X, Y = data()
    before = numba.get_num_threads()
    fastbp.Population([2, 3, 1], 3).fit(X, Y, epochs=1, n_threads=n_threads)
    assert numba.get_num_threads() == before
    fastbp.Network([2, 3, 1], seed=0).fit(X, Y, epochs=1, n_threads=n_threads)
    assert numba.get_num_threads() == before


def test_the_thread_count_is_restored_when_the_launch_fails():
    before = numba.get_num_threads()
    with pytest.raises(ZeroDivisionError):
        with threads.pool(1):
            assert numba.get_num_threads() == 1
            1 / 0
    assert numba.get_num_threads() == before


CONCURRENT = """
import threading, numpy as np, fastbp
X = np.random.default_rng(0).random((400, 2)); Y = X[:, :1] * X[:, 1:]
pops = [fastbp.Population([2, 4, 1], 4) for _ in range(4)]
ref = fastbp.Population([2, 4, 1], 4)
for _ in range(10):
    ref.fit(X, Y, epochs=3)
def work(p):
    for _ in range(10):
        p.fit(X, Y, epochs=3)
ts = [threading.Thread(target=work, args=(p,)) for p in pops]
[t.start() for t in ts]; [t.join() for t in ts]
print(all(np.array_equal(p.thetas, ref.thetas) for p in pops), 0, 0)
"""


@needs_jit
def test_parallel_fits_from_several_python_threads_take_turns(tmp_path):
    # numba's workqueue layer aborts the process on two concurrent launches (seen without
    # the lock in ``threads.pool``: "Concurrent access has been detected", SIGABRT)
    same, _, _ = run_script(tmp_path, CONCURRENT)
    assert same == "True"
