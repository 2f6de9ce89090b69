"""Where every number lives: the flat parameter vector theta and the flat workspace.

theta ("the unrolled thetaVec") holds, for each weight layer l = 0 .. L-2 in order, the
weight matrix W^l (shape sizes[l+1] x sizes[l], row-major) followed by the bias vector b^l
(sizes[l+1]). Indexing note: the math numbers layers from 1 (W^1 maps layer 1 to layer 2);
the code numbers them from 0, so ``weights[0]`` is the math's W^1.

The workspace holds, for each layer l = 0 .. L-1, the pre-activations z^l, activations a^l
and deltas delta^l in three flat buffers sharing one offset table ``u_off`` (layer l occupies
``u_off[l]:u_off[l+1]``; layer 0's slot of ``a`` holds a copy of the input). Its ``grad``
buffer has theta's layout and accumulates mini-batch gradients.

``Spec`` and ``Workspace`` are NamedTuples of arrays and scalars: the kernels take them
directly, and so can a user's own ``@njit`` code.
"""
from typing import NamedTuple

import numpy as np
from numba.extending import register_jitable

from . import activations as act
from . import losses
from ._jit import U


#: rows of ``Spec.table``
SIZES, W_OFF, B_OFF, U_OFF, ACT = range(5)

#: where theta starts in memory: a cache line, and one 512-bit vector. Per-example SGD reads
#: and writes all of theta at every step; from a 16-byte offset (NumPy's alignment, and
#: always that for arrays large enough to be mapped on their own) half of the vector loads
#: and stores span two cache lines: µs per example from offset 16 against 0, alternating in
#: one process (AMD Zen 5, one pinned core): 64-32-10 0.380 / 0.323 (float32), 0.376 /
#: 0.347 (float64); 784-100-10 3.71 / 2.86, 6.86 / 5.47; 784-512-512-10 float32 45.7 /
#: 37.1. Mini-batches of 32 did not care (64-32-10 0.196 / 0.195), nor did the per-example
#: path then about the workspace's or the data's offsets (within 3%); since its row sweeps
#: got faster the workspace's rows start on lines too (``Layout.units``: 64-32-10 float32
#: 5-9% faster).
ALIGN = 64


@register_jitable
def whole_lines(n, itemsize):
    """``n`` entries of ``itemsize`` bytes rounded up to whole cache lines (``ALIGN``), in
    entries. Plain Python, and callable from compiled code (a workspace's and a mini-batch
    pass's row width)."""
    per_line = ALIGN // itemsize  # float32 16, float64 8
    return (n + per_line - 1) // per_line * per_line


@register_jitable
def to_line(address):
    """The bytes from ``address`` up to the next ``ALIGN``-byte boundary (0 on one). Unsigned
    throughout: numba computes an unsigned address with a signed int as a float."""
    return (U(ALIGN) - U(address) % U(ALIGN)) % U(ALIGN)


def aligned_empty(n, dtype):
    """An uninitialised 1-D array of ``n`` entries of ``dtype`` whose data start on an
    ``ALIGN``-byte boundary (a view into a slightly larger buffer)."""
    dtype = np.dtype(dtype)
    buf = np.empty(n * dtype.itemsize + ALIGN, dtype=np.uint8)
    start = int(to_line(buf.ctypes.data))
    return buf[start:start + n * dtype.itemsize].view(dtype)


def aligned_zeros(n, dtype):
    """``aligned_empty`` filled with zeros."""
    out = aligned_empty(n, dtype)
    out[:] = 0
    return out


def aligned_array(arr, dtype, rows=None):
    """A C-contiguous copy of ``arr`` (of its ``rows`` along the first axis, if given) cast
    to ``dtype`` as NumPy's ``astype`` casts, starting on an ``ALIGN``-byte boundary: the
    data a pass reads, whose rows then start on a cache line wherever the row length is a
    whole number of lines (784 float32 inputs are 49 lines)."""
    shape = arr.shape if rows is None else (len(rows),) + arr.shape[1:]
    out = aligned_empty(int(np.prod(shape)), dtype).reshape(shape)
    if rows is None:
        np.copyto(out, arr, casting="unsafe")
    elif out.dtype == arr.dtype:
        # valid indices (NumPy buffers ``out`` in its default mode, "raise": a second copy)
        np.take(arr, rows, axis=0, out=out, mode="clip")
    else:  # into an ``out`` of another dtype NumPy's take casts out's uninitialised bytes
        np.copyto(out, arr[rows], casting="unsafe")  # too (a RuntimeWarning on some)
    return out


def aligned_copy(arr):
    """A copy of the 1-D array ``arr`` that starts on an ``ALIGN``-byte boundary."""
    return aligned_array(arr, arr.dtype)


def is_aligned(arr):
    """Whether ``arr``'s data start on an ``ALIGN``-byte boundary."""
    return arr.ctypes.data % ALIGN == 0


class Spec(NamedTuple):
    """The layout and the functions of a network, as kernels see it.

    table: int64 (5, L), read-only, one column per layer l = 0 .. L-1:
        table[SIZES, l]  units of layer l
        table[W_OFF, l]  where W^l starts in theta (l < L-1)
        table[B_OFF, l]  where b^l starts in theta (l < L-1)
        table[U_OFF, l]  where layer l starts in the workspace's z / a / delta buffers
        table[ACT, l]    activation code of layer l+1 (l < L-1; the last is the output's)
    loss: int, the loss code.

    One small array rather than five: every array a kernel touches costs argument passing
    and reference counting, which is a visible share of a small network's step.
    """

    table: np.ndarray
    loss: int


def frozen(arr):
    """A read-only copy of ``arr`` that cannot be made writeable again: its memory is an
    immutable bytes object, so ``flags.writeable = True`` raises. The kernels check the
    table anyway (``fastbp._checks.spec_sizes``); this keeps ``net.spec.table[...] = ...``
    from silently breaking a network."""
    return np.frombuffer(np.ascontiguousarray(arr).tobytes(), dtype=arr.dtype).reshape(arr.shape)


class Workspace(NamedTuple):
    """Scratch buffers for one thread: z, a, delta and the dropout mask (laid out by
    ``u_off``), grad (theta's layout).

    z, a, delta and mask are the rows of ``units`` (one (4, width) allocation, width
    n_units or more), so a kernel that needs them all can take one array.
    """

    z: np.ndarray
    a: np.ndarray
    delta: np.ndarray
    grad: np.ndarray
    units: np.ndarray
    mask: np.ndarray


class Layout:
    """Offset tables for a network of the given layer sizes, activations and loss.

    Built from already validated arguments (``Network`` validates them).
    """

    def __init__(self, sizes, activations, loss):
        self.sizes = tuple(int(s) for s in sizes)
        self.activations = tuple(activations)  # one name per layer 1 .. L-1
        self.loss = loss
        n_layers = len(self.sizes)
        w_off = np.empty(n_layers - 1, dtype=np.int64)
        b_off = np.empty(n_layers - 1, dtype=np.int64)
        pos = 0
        for l in range(n_layers - 1):
            w_off[l] = pos
            pos += self.sizes[l + 1] * self.sizes[l]
            b_off[l] = pos
            pos += self.sizes[l + 1]
        self.n_params = pos
        self.w_off, self.b_off = w_off, b_off
        self.u_off = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.int64)
        self.n_units = int(self.u_off[-1])
        codes = [act.HIDDEN[a] for a in self.activations[:-1]]
        codes.append(act.OUTPUT[self.activations[-1]])
        self.act_codes = np.array(codes, dtype=np.int64)
        self.loss_code = losses.CODES[loss]

    @property
    def n_weight_layers(self):
        return len(self.sizes) - 1

    def spec(self):
        L = len(self.sizes)
        table = np.zeros((5, L), dtype=np.int64)
        table[SIZES] = self.sizes
        table[W_OFF, :L - 1] = self.w_off
        table[B_OFF, :L - 1] = self.b_off
        table[U_OFF] = self.u_off[:L]
        table[ACT, :L - 1] = self.act_codes
        return Spec(frozen(table), self.loss_code)

    def sizes_array(self):
        return np.array(self.sizes, dtype=np.int64)

    def weight_shape(self, l):
        return (self.sizes[l + 1], self.sizes[l])

    def weight_slice(self, l):
        return slice(int(self.w_off[l]), int(self.w_off[l]) + self.sizes[l + 1] * self.sizes[l])

    def bias_slice(self, l):
        return slice(int(self.b_off[l]), int(self.b_off[l]) + self.sizes[l + 1])

    def weights(self, theta):
        """Views W^l (s_(l+1) x s_l) into theta, one per weight layer."""
        return [theta[self.weight_slice(l)].reshape(self.weight_shape(l))
                for l in range(self.n_weight_layers)]

    def biases(self, theta):
        """Views b^l into theta, one per weight layer."""
        return [theta[self.bias_slice(l)] for l in range(self.n_weight_layers)]

    def weight_mask(self):
        """Boolean mask over theta: True where the entry is a weight (L2 applies), False for biases."""
        mask = np.zeros(self.n_params, dtype=bool)
        for l in range(self.n_weight_layers):
            mask[self.weight_slice(l)] = True
        return mask

    def unroll(self, weights, biases, dtype=np.float64):
        """Concatenate per-layer W^l and b^l into a new flat theta (the thetaVec)."""
        theta = np.empty(self.n_params, dtype=dtype)
        for l in range(self.n_weight_layers):
            theta[self.weight_slice(l)] = np.asarray(weights[l]).reshape(-1)
            theta[self.bias_slice(l)] = np.asarray(biases[l]).reshape(-1)
        return theta

    def batch_units(self, batch_size, dtype):
        """Scratch for ``kernels.epoch_batched``: z, a, delta of a whole mini-batch."""
        return np.zeros((3, batch_size, self.n_units), dtype=dtype)

    def units_width(self, dtype):
        """The width of a workspace's ``units`` rows: n_units rounded up to whole cache lines
        (``ALIGN``) of ``dtype``, so that on an aligned allocation every row starts on one."""
        return whole_lines(self.n_units, np.dtype(dtype).itemsize)

    def units(self, dtype, k=None):
        """Zeroed ``units`` for one workspace, (4, ``units_width``), or stacked for k
        workspaces, (k, 4, ``units_width``), every row on a cache line."""
        width = self.units_width(dtype)
        shape = (4, width) if k is None else (k, 4, width)
        return aligned_zeros(int(np.prod(shape)), dtype).reshape(shape)

    def workspace(self, dtype):
        """A fresh workspace (zeros) for one thread of this layout. Each row of ``units``
        starts on a cache line (``units``; z, a, delta and mask are the rows' first n_units
        entries), as theta does: the input slot a^0, which the first layer's sweep reads
        once per four rows, no longer straddles lines. Per example (``kernels.epoch``),
        alternating fresh processes, one pinned core: 64-32-10 float32 0.194-0.196 ->
        0.176-0.187 µs, 784-100-10 float32 2.68-2.75 -> 2.53-2.69, float64 5.42-5.74 ->
        5.29-5.57; 2-4-1 and 64-32-10 float64 within noise; the 184 configurations' thetas
        bit for bit as before."""
        units = self.units(dtype)
        n = self.n_units
        return Workspace(units[0, :n], units[1, :n], units[2, :n],
                         np.zeros(self.n_params, dtype=dtype), units, units[3, :n])
