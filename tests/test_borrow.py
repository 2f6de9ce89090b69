"""``_jit.borrow``: a borrowed array costs no reference counting, and nothing allocated
from one leaks (numba derives a new array's type from its operand's)."""
import os

import numpy as np
import pytest
from numba import njit
from numba.core.runtime import _nrt_python, rtsys

import fastbp
from fastbp._jit import FASTMATH, JIT_DISABLED, Borrowed, borrow

pytestmark = pytest.mark.skipif(JIT_DISABLED, reason="borrow is the identity without the JIT")


def _fresh_per_example_kernel():
    """An uncached copy of plain SGD's per-example pass (numba shows no IR for cached
    code); it borrows its arguments itself."""
    from fastbp import epochs

    return njit(fastmath=set(FASTMATH), error_model="numpy")(epochs.sgd_examples.py_func)


def test_no_reference_counting_in_the_per_example_kernel():
    import fastbp
    from fastbp import epochs, optim

    net = fastbp.Network([2, 4, 1], seed=0)
    X = np.random.default_rng(0).random((9, 2))
    Y = (X[:, :1] > 0.5).astype(np.float64)
    opt = optim.make_state("sgd", net.n_params, net.dtype, 0.1)
    drop = optim.make_dropout([0.0], 3, net.dtype, 0)
    kernel = _fresh_per_example_kernel()
    ws = net.layout.workspace(net.dtype)
    theta = net.theta.copy()
    total = kernel(theta, net.spec, ws, opt, drop, X, Y, np.arange(9))
    reference = net.theta.copy()
    ref_total = epochs.run(reference, net.spec, net.layout.workspace(net.dtype), opt, drop, X,
                           Y, np.arange(9), 1)
    assert total == ref_total and np.array_equal(theta, reference)
    ir = "\n".join(kernel.inspect_llvm().values())
    # the compiled pass borrows every array on entry: no NRT_incref / NRT_decref call is
    # left in it (the type-preserving borrow left 58 call sites, about 40 executed per
    # example). Its CPython wrapper (what Python calls) does count the arguments it unboxes,
    # once per call.
    native = _functions(ir, lambda name: "cpython" not in name)
    assert native and all("NRT_incref" not in body and "NRT_decref" not in body
                          for body in native.values()), [n for n, b in native.items()
                                                          if "NRT_" in b]
    assert any("NRT_decref" in body for body in _functions(ir, lambda n: "cpython" in n).values())


def _functions(ir, keep):
    """{symbol: body} of the functions defined in the LLVM IR text ``ir`` whose symbol
    ``keep`` accepts."""
    out, name = {}, None
    for line in ir.splitlines():
        if line.startswith("define"):
            name = line.split("@", 1)[1].split("(", 1)[0]
            name = name if keep(name) else None
            if name:
                out[name] = ""
        elif line.startswith("}"):
            name = None
        elif name:
            out[name] += line + "\n"
    return out


def test_borrowed_type_and_derived_types():
    @njit
    def types_of(x):
        b = borrow(x)
        return b, b[1:], b.copy()

    types_of(np.zeros(3))
    sig = types_of.signatures[0]
    res = types_of.overloads[sig].signature.return_type
    # returned borrowed views are not allowed in fastbp; here only their types matter
    assert not isinstance(res.types[1], Borrowed)
    assert not isinstance(res.types[2], Borrowed)


def test_flat_is_a_borrowed_view_of_every_entry():
    from numba.core.errors import TypingError

    from fastbp._jit import flat

    @njit
    def bump_flat(a):
        f = flat(a)
        for k in range(f.shape[0]):
            f[k] += k
        return f.shape[0]

    a = np.zeros((3, 5))
    assert bump_flat(a) == 15
    assert np.array_equal(a, np.arange(15.0).reshape(3, 5))  # written through, C order
    if not JIT_DISABLED:
        sig = bump_flat.signatures[0]
        assert bump_flat.overloads[sig].signature.args[0].layout == "C"
        with pytest.raises(TypingError):  # a strided view has no flat view
            bump_flat(np.zeros((3, 6))[:, ::2])


def test_as_row_is_a_borrowed_one_row_view_of_any_1d_array():
    from fastbp._jit import as_row

    @njit
    def second_of_row(y):
        r = as_row(y)
        r[0, 1] += 10.0
        return r.shape[0], r.shape[1], r[0, 1]

    y = np.arange(6.0)
    assert second_of_row(y) == (1, 6, 11.0) and y[1] == 11.0
    strided = np.arange(12.0)[::3]  # 0, 3, 6, 9
    assert second_of_row(strided) == (1, 4, 13.0) and strided[1] == 13.0


def test_disjoint_agrees_with_numpys_byte_bounds():
    # _jit.disjoint (compiled: address spans in LLVM) against NumPy's byte_bounds on views
    # of one buffer: reversed, strided, 2-D, transposed, empty, and another array
    from fastbp._jit import disjoint
    try:
        from numpy.lib.array_utils import byte_bounds
    except ImportError:  # NumPy < 2
        byte_bounds = np.byte_bounds

    base = np.zeros(64)
    grid = base[:48].reshape(6, 8)
    views = [base[:10], base[10:20], base[5:15], base[::-1], base[60:], base[::7],
             base[3:3], grid, grid.T, grid[::2, ::3], grid[::-1, 4:], grid[5:, :], np.zeros(5)]
    call = njit(lambda a, b: disjoint(a, b))
    for a in views:
        for b in views:
            (alo, ahi), (blo, bhi) = byte_bounds(a), byte_bounds(b)
            want = ahi <= blo or bhi <= alo
            assert call(a, b) == want, (a.shape, a.strides, b.shape, b.strides)


@njit
def _allocate(x):
    b = borrow(x)
    c = b.copy()
    d = np.empty_like(b)
    d[:] = 2.0
    e = b + d
    f = b[1:].copy()
    return c.sum() + d.sum() + e.sum() + f.sum()


def test_arrays_allocated_from_a_borrowed_one_are_freed():
    x = np.arange(4.0)
    _allocate(x)  # compile outside the counted window
    _nrt_python.memsys_enable_stats()  # what numba's own leak checks use
    try:
        before = rtsys.get_allocation_stats()
        for _ in range(10):
            assert _allocate(x) == 6.0 + 8.0 + 14.0 + 6.0
        after = rtsys.get_allocation_stats()
    finally:
        _nrt_python.memsys_disable_stats()
    allocated = after.mi_alloc - before.mi_alloc
    assert allocated >= 40  # at least the four new arrays of each call
    assert after.mi_free - before.mi_free == allocated
    assert after.free - before.free == after.alloc - before.alloc


SCRATCH_CHILD = """
import sys
import numpy as np
import fastbp

rng = np.random.default_rng(0)
X = rng.random((64, 784))
Y = np.eye(10)[rng.integers(0, 10, 64)]
net = fastbp.Network([784, 100, 10], output="softmax", loss="cross_entropy", seed=0)
net.fit(X, Y, epochs=1, lr=0.1, batch_size=32, shuffle=False)
sys.stdout.write(net.theta.tobytes().hex())
"""


def test_the_mini_batch_scratch_outlives_its_borrowed_views(tmp_path):
    """The mini-batch pass allocates its batch scratch and works in borrowed views of it;
    numba released the allocation right after borrowing it (its last use), so the pass
    trained in freed memory. In a process that loads the pass from the cache (a small
    heap) with the allocator mapping every block of 64 KiB or more on its own, the freed
    scratch was unmapped at once and the first mini-batch fit crashed (a segmentation
    fault, every time). Two processes: the first compiles into a fresh cache, the second
    loads from it; both must finish with the baseline's parameters."""
    import subprocess
    import sys

    from fastbp import baseline

    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "nc"), MALLOC_MMAP_THRESHOLD_="65536",
               MALLOC_PERTURB_="127")
    outs = []
    for _ in range(2):
        res = subprocess.run([sys.executable, "-c", SCRATCH_CHILD], env=env,
                             capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (res.returncode, res.stderr[-2000:])
        outs.append(np.frombuffer(bytes.fromhex(res.stdout), dtype=np.float64))
    rng = np.random.default_rng(0)
    X = rng.random((64, 784))
    Y = np.eye(10)[rng.integers(0, 10, 64)]
    net = fastbp.Network([784, 100, 10], output="softmax", loss="cross_entropy", seed=0)
    theta = net.theta.copy()
    baseline.epoch(theta, net.layout, X, Y, np.arange(64), 0.1, 0.0, 32)
    assert np.array_equal(outs[0], outs[1])
    np.testing.assert_allclose(outs[1], theta, rtol=0, atol=1e-12)
