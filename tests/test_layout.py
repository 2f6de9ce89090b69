"""theta is one flat array; weights and biases are views into it; the offsets tile it exactly."""
import numpy as np
import pytest

import fastbp
from fastbp import kernels


@pytest.mark.parametrize("sizes", [[2, 1], [3, 2, 1], [64, 32, 10], [5, 7, 6, 4, 3]])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_views_share_memory_and_sizes_sum_to_theta(sizes, dtype):
    net = fastbp.Network(sizes, output="sigmoid", dtype=dtype, seed=0)
    theta = net.theta
    assert theta.ndim == 1 and theta.flags.c_contiguous and theta.dtype == np.dtype(dtype)
    expected = sum(sizes[l + 1] * sizes[l] + sizes[l + 1] for l in range(len(sizes) - 1))
    assert net.n_params == len(theta) == expected
    covered = np.zeros(len(theta), dtype=int)
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        assert W.shape == (sizes[l + 1], sizes[l]) and b.shape == (sizes[l + 1],)
        assert np.shares_memory(W, theta) and np.shares_memory(b, theta)
        for view in (W, b):  # contiguous views inside theta's own memory
            assert view.flags.c_contiguous and theta.ctypes.data <= view.ctypes.data
            assert view.ctypes.data + view.nbytes <= theta.ctypes.data + theta.nbytes
        covered[net.layout.weight_slice(l)] += 1
        covered[net.layout.bias_slice(l)] += 1
    # every entry of theta belongs to exactly one W or b: no gaps, no overlaps
    assert np.all(covered == 1)
    # writing through a view writes theta, and the other way round
    net.weights[-1][-1, -1] = 7.0
    assert theta[net.layout.weight_slice(len(sizes) - 2).stop - 1] == 7.0
    theta[net.layout.bias_slice(0).start] = -3.0
    assert net.biases[0][0] == -3.0


def test_row_major_order_and_unroll_roundtrip():
    net = fastbp.Network([3, 2, 2], seed=0)
    W0 = net.weights[0]
    assert net.theta[0:3].tolist() == W0[0].tolist()  # row j of W^1 is contiguous
    assert net.theta[3:6].tolist() == W0[1].tolist()
    rebuilt = net.layout.unroll(net.weights, net.biases)
    np.testing.assert_array_equal(rebuilt, net.theta)


def test_forward_uses_every_parameter_exactly_once():
    # genann's check: perturbing any single parameter changes the output, and the output is
    # linear in each output-layer parameter (each is read once per forward pass)
    net = fastbp.Network([3, 4, 2], hidden="tanh", output="identity", seed=1)
    x = np.array([0.3, -0.2, 0.9])
    base = net.predict(x).copy()
    for i in range(net.n_params):
        old = net.theta[i]
        net.theta[i] = old + 0.5
        assert not np.allclose(net.predict(x), base), f"parameter {i} is not used"
        net.theta[i] = old


def test_workspace_and_spec_offsets():
    net = fastbp.Network([5, 3, 2], seed=0)
    ws = net.workspace()
    assert isinstance(ws, fastbp.Workspace) and isinstance(net.spec, fastbp.Spec)
    assert ws.a.shape == ws.z.shape == ws.delta.shape == (10,)
    assert ws.grad.shape == net.theta.shape
    assert net.spec.table[fastbp.layout.U_OFF].tolist() == [0, 5, 8]
    assert net.spec.table[fastbp.layout.SIZES].tolist() == [5, 3, 2]
    out = kernels.forward(net.theta, net.spec, ws, np.ones(5))
    assert np.shares_memory(out, ws.a) and out.shape == (2,)


def test_theta_setter_copies_into_the_same_array():
    net = fastbp.Network([2, 3, 1], seed=0)
    theta = net.theta
    net.theta = np.arange(net.n_params, dtype=float)
    assert net.theta is theta and net.weights[0][0, 1] == 1.0
    with pytest.raises(ValueError, match=r"theta must have shape \(13,\)"):
        net.theta = np.zeros(5)


def test_repr_shows_the_architecture():
    net = fastbp.Network([64, 32, 10], hidden="sigmoid", output="softmax", seed=0)
    assert repr(net) == ("Network([64, 32, 10], hidden='sigmoid', output='softmax', "
                         "loss='cross_entropy', dtype='float64', n_params=2410)")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_theta_starts_on_a_cache_line_however_the_network_was_made(tmp_path, dtype):
    # per-example SGD sweeps theta at every step: from NumPy's 16-byte alignment half of
    # its 512-bit loads and stores span two cache lines (fastbp.layout.ALIGN)
    import pickle

    from fastbp.layout import ALIGN, aligned_copy, aligned_zeros

    def aligned(net):
        return net.theta.ctypes.data % ALIGN == 0 and np.shares_memory(net.weights[0], net.theta)

    net = fastbp.Network([5, 7, 3], dtype=dtype, seed=0)
    assert aligned(net)
    assert aligned(net.copy())
    for _ in range(4):  # unpickled arrays start wherever the allocator puts them
        back = pickle.loads(pickle.dumps(net))
        assert aligned(back) and np.array_equal(back.theta, net.theta)
    loaded = fastbp.load(net.save(tmp_path / "m.fastbp"))
    assert aligned(loaded) and np.array_equal(loaded.theta, net.theta)
    for n in range(1, 40):
        z = aligned_zeros(n, dtype)
        assert z.shape == (n,) and z.dtype == np.dtype(dtype) and not z.any()
        assert z.ctypes.data % ALIGN == 0 and z.flags.c_contiguous and z.flags.writeable
        c = aligned_copy(np.arange(n, dtype=dtype))
        assert c.ctypes.data % ALIGN == 0 and np.array_equal(c, np.arange(n))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("sizes", [[2, 4, 1], [5, 7, 3], [64, 32, 10], [3, 17, 9, 2]])
def test_workspace_rows_start_on_cache_lines(sizes, dtype):
    # the first layer's sweep reads the input slot a^0 once per four rows: each row of a
    # workspace's units starts on a line (Layout.units), as theta does; z, a, delta and mask
    # stay n_units long, views of those rows, for a network's own, a fresh, an unpickled
    # network's and Population's stacked workspaces
    import pickle

    from fastbp.layout import ALIGN
    from fastbp.threads import workspace_of, workspaces

    net = fastbp.Network(sizes, dtype=dtype, seed=0)
    n, width = net.layout.n_units, net.layout.units_width(dtype)
    assert width >= n and width * np.dtype(dtype).itemsize % ALIGN == 0
    units, grads = workspaces(net.layout, 3, dtype)
    stacked = [workspace_of(units, grads, r) for r in range(3)]
    for ws in [net.workspace(), net._ws, pickle.loads(pickle.dumps(net))._ws] + stacked:
        assert ws.units.shape == (4, width) and not ws.units.any()
        for k, row in enumerate((ws.z, ws.a, ws.delta, ws.mask)):
            assert row.shape[0] >= n and row.ctypes.data % ALIGN == 0
            assert row.ctypes.data == ws.units[k].ctypes.data
    for ws in (net.workspace(), net._ws):
        assert ws.z.shape == ws.a.shape == ws.delta.shape == ws.mask.shape == (n,)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_mini_batch_pass_scratch_rows_start_on_cache_lines(dtype):
    # the mini-batch products load rows of the pass's scratch (Z, A, D, M, S) as vectors:
    # each row is n_units rounded up to whole lines, on a line (_batch.batch_scratch, the
    # planes taken as the pass takes them), however NumPy's allocator places the buffer
    from numba import njit

    from fastbp._batch import batch_scratch
    from fastbp._jit import U, rows_of
    from fastbp.layout import ALIGN

    @njit
    def rows(theta, n_rows, n_units):
        block, first, width = batch_scratch(theta, n_rows, n_units)
        plane = n_rows * width
        out = np.empty((5, n_rows, 3), dtype=np.int64)
        for k in range(5):
            m = rows_of(block, first + k * plane, n_rows, width)
            for r in range(n_rows):
                out[k, r, 0] = U(m[r].ctypes.data) % U(ALIGN)  # unsigned: no float in numba
                out[k, r, 1] = m.shape[1]
                out[k, r, 2] = (m[r] != 0).sum()
        end = first + 5 * plane
        return out, first >= 0 and end <= block.shape[0], block.shape[0]

    theta = np.zeros(3, dtype)
    per_line = ALIGN // theta.itemsize
    for n_rows, n_units in [(4, 1), (4, 7), (8, 106), (32, 106), (36, 1306), (4, per_line)]:
        for _ in range(5):  # several allocations: NumPy's offsets vary
            out, inside, size = rows(theta, n_rows, n_units)
            width = out[0, 0, 1]
            assert inside and size == 5 * n_rows * width + per_line
            assert width >= n_units and width % per_line == 0 and width - n_units < per_line
            assert not out[:, :, 0].any() and not out[:, :, 2].any()  # on lines, zeroed


def test_the_copies_fit_makes_of_X_start_on_a_cache_line(monkeypatch):
    # a pass reads each example's row once per four rows of W^0: where fit has to copy X (a
    # cast, another memory order, the rows left after a validation split) the copy starts
    # on a line (layout.aligned_array); an X of the network's dtype in C order is not copied
    from fastbp import _validation, training
    from fastbp.layout import ALIGN, aligned_array

    rng = np.random.default_rng(0)
    X = rng.random((41, 16))
    for src, dtype in [(X, "float32"), (np.asfortranarray(X), "float64"), (X[::2], "float64")]:
        out, _ = _validation.check_X(src, 16, np.dtype(dtype), aligned=True)
        assert out.ctypes.data % ALIGN == 0 and out.flags.c_contiguous
        assert np.array_equal(out, np.asarray(src, dtype))
        plain, _ = _validation.check_X(src, 16, np.dtype(dtype))  # predict's: NumPy's copy
        assert plain.flags.c_contiguous and np.array_equal(plain, out)
    same, _ = _validation.check_X(X, 16, np.dtype("float64"), aligned=True)
    assert same is X
    rows = rng.permutation(41)[:30]
    part = aligned_array(X, np.float32, rows)
    assert part.ctypes.data % ALIGN == 0 and np.array_equal(part, X[rows].astype(np.float32))
    seen = []
    real = training.run_epoch

    def spy(theta, spec, ws, opt, drop, X, *args):
        seen.append(X.ctypes.data % ALIGN)
        return real(theta, spec, ws, opt, drop, X, *args)

    monkeypatch.setattr(training, "run_epoch", spy)
    fastbp.Network([16, 5, 1], seed=0).fit(X, X[:, :1], epochs=1, validation_fraction=0.25)
    assert seen == [0]
