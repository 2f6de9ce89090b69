"""The one place where fastbp's numba compilation flags are set.

fastmath allows reassociation (so reductions such as dot products can be vectorised)
and contraction (fused multiply-add). It never sets ``nnan``/``ninf``: the NaN and Inf
checks that detect a diverging run must keep working. Division follows IEEE semantics.
"""
import sys

import numpy as np
from numba import config, njit, types
from numba.core import cgutils
from numba.core.datamodel.models import ArrayModel
from numba.core.registry import CPUDispatcher
from numba.extending import intrinsic, lower_builtin, overload, register_model, type_callable

from . import _inlining
from .cache import can_cache

FASTMATH = frozenset({"reassoc", "contract"})

#: index type of the hot loops: unsigned, because numba must guard every signed index
#: against negative wrap-around, and that guard stops LLVM from vectorising the loop
U = np.uint64

#: True when numba runs everything as plain Python (``NUMBA_DISABLE_JIT=1``)
JIT_DISABLED = bool(config.DISABLE_JIT)


def _flags(func, **extra):
    """The one set of compiler flags of every fastbp kernel.

    cache: on disk (stamped with fastbp's whole source, see ``fastbp.cache``) wherever numba
    finds a writable cache location for ``func``; otherwise compiled in memory.

    error_model="numpy": a float division by zero gives inf/nan as IEEE says (and the
    divergence checks catch it) instead of raising ZeroDivisionError; the Python model's
    zero test before every division would also keep the loop from being vectorised.

    pipeline_class: numba's nopython pipeline with fastbp's inlining pass
    (``_inlining.InlineBlocks``: each block's IR built once, copied once per call site).
    """
    return dict(cache=can_cache(func), nogil=True, fastmath=set(FASTMATH), error_model="numpy",
                pipeline_class=_inlining.Compiler, **extra)


def in_roomy_frame(call, *args, **kws):
    """``call(*args, **kws)`` from a Python frame with ~2 MB of spare data stack behind it.

    CPython (from 3.11) keeps its frames in 16 KiB chunks, mapped when a call does not fit
    in the current chunk and unmapped when that call returns (gh-142183; later 3.13 and 3.14
    releases cache one spare chunk; 3.11.7, 3.12.1 and 3.13.0 thrash, checked). numba's
    compiler calls small functions millions of times; when the caller's depth puts one of
    its hot call sites on a chunk boundary, every such call maps and unmaps a chunk. A cold ``Population.fit`` made
    3.06 million mmap/munmap pairs and spent 11 s in the kernel (38 s wall against 25 s
    one frame deeper). This function's frame declares a ~2 MB evaluation stack it never
    touches (its code's ``co_stacksize``), so it opens a chunk of 4 MiB (mapped lazily)
    and every frame the compiler pushes fits behind it: compile time no longer depends
    on where the caller stands."""
    return call(*args, **kws)


if sys.version_info >= (3, 11):  # frames live on the chunked data stack from 3.11 on
    in_roomy_frame.__code__ = in_roomy_frame.__code__.replace(
        co_stacksize=in_roomy_frame.__code__.co_stacksize + (1 << 18))


def _compiled_roomily(dispatcher):
    """``dispatcher`` with its compilations started from ``in_roomy_frame`` with the
    garbage collector paused (``_inlining.gc_paused``): numba's C call path looks up
    ``_compile_for_args`` on the instance when a call finds no compiled signature (the
    cache lookup goes through it too)."""
    if JIT_DISABLED:  # a plain Python function: nothing is compiled
        return dispatcher
    compile_for_args = dispatcher._compile_for_args

    def compile_roomily(*args, **kws):
        with _inlining.gc_paused():  # (the dispatcher's own work too: typeof, the cache)
            return in_roomy_frame(compile_for_args, *args, **kws)

    dispatcher._compile_for_args = compile_roomily
    return dispatcher


def jit(func, *, cfunc=True):
    """Compile ``func`` as a fastbp kernel: nopython, cached on disk, GIL released.

    ``cfunc=False`` skips numba's C-callable wrapper (what a user's @njit code calls when it
    holds the kernel as a first-class function value): the passes, called from Python and
    from fastbp's kernels only, need none. Each wrapper is one more function for numba to
    lower and LLVM to optimise and generate."""
    flags = _flags(func) if cfunc else _flags(func, no_cfunc_wrapper=True)
    return _compiled_roomily(njit(**flags)(func))


class _CompiledOnly(CPUDispatcher):
    """The dispatcher of an ``internal`` function: a call from Python raises TypeError
    (numba would jump through the Python entry point it never built, and crash)."""

    def __call__(self, *args, **kws):
        name = f"{self.py_func.__module__}.{self.py_func.__qualname__}"
        raise TypeError(f"{name} runs only inside compiled code (it has no Python entry "
                        f"point): call it from an @njit function, or {name}.py_func from "
                        "Python")


def internal(func, noalias=False):
    """Compile ``func`` as a helper that only fastbp's compiled code calls (a per-layer
    function such as ``activations.activate``, kept out of line so that it is compiled
    once per dtype): like ``jit``, without numba's Python and C wrappers, which nothing
    would call. Dropping them took a first plain fit (fresh cache, 2-4-1, pinned, process
    time) from 3.54-3.72 to 3.31-3.39 s: the wrappers of a dozen helpers are a dozen
    functions of argument unboxing for numba to lower and LLVM to compile. Nor does numba
    generate machine code for the helper itself (``_inlining.LinkOnlyLibrary``): its
    callers link its IR, as they would anyway.

    ``noalias=True``: no array argument that the helper writes overlaps another argument
    (``_inlining.NoAliasCompiler``)."""
    if JIT_DISABLED:
        return func
    flags = _flags(func, no_cpython_wrapper=True, no_cfunc_wrapper=True)
    if noalias:  # the caller promises: no written array argument overlaps another
        flags["pipeline_class"] = _inlining.NoAliasCompiler
    dispatcher = _compiled_roomily(njit(**flags)(func))
    dispatcher.__class__ = _CompiledOnly
    return dispatcher


def inline(func):
    """A building block: compiled like ``jit`` and inlined into every caller at numba's IR
    level (wherever the call can run: ``fastbp._inlining``), so a kernel composed of blocks
    is one function to LLVM."""
    _inlining.BLOCKS.add(func)
    return _compiled_roomily(njit(**_flags(func, inline=_inlining.into_kernels_only))(func))


def nopython_form(func):
    """Decorator: the implementation it decorates is ``func``'s form in compiled code
    (numba's ``overload``), compiled with the kernels' flags. For a public kernel that is
    a plain Python function when called from Python (which can choose what to compile)
    and a compiled function when called from a user's ``@njit`` code. Not cached on its
    own: it is compiled into its compiled caller (and cached with it)."""
    flags = _flags(func)
    del flags["cache"]
    return overload(func, jit_options=flags)


def pjit(func):
    """Like ``jit`` with ``parallel=True``: ``prange`` loops run on numba's thread pool."""
    return _compiled_roomily(njit(**_flags(func, parallel=True))(func))


class Borrowed(types.Array):
    """The type of a borrowed array (``borrow``): an array whose meminfo is NULL. numba
    would still call NRT_incref / NRT_decref on it (no-ops, but calls) at every binding
    and around every call that the refcount pruning pass cannot see through; with its
    blocks inlined, the 2-4-1 per-example step made ~40 such calls (0.07 of 0.21 µs).
    With this type numba emits none. Types derived from it (a slice, a copy) are ordinary
    arrays again, because numba derives the type of a new allocation the same way and
    that one must be counted (a slice of a borrowed array just counts a NULL meminfo)."""

    def __init__(self, dtype, ndim, layout, readonly=False, aligned=True):
        name = "borrowed %s(%s, %sd, %s)" % ("readonly array" if readonly else "array",
                                             dtype, ndim, layout)
        super().__init__(dtype, ndim, layout, readonly=readonly, name=name, aligned=aligned)


@register_model(Borrowed)
class _BorrowedModel(ArrayModel):
    """An array's data model with no member for reference counting to visit."""

    def traverse(self, builder):
        return []


@intrinsic
def _borrow(typingctx, arr):
    """The same array without its reference-counted owner (meminfo set to NULL).

    numba increments and decrements an array's reference count (two atomic instructions)
    every time the array is passed to a function or bound to a variable; in the
    per-example path of a small network that was half of the run time. Kernels therefore
    borrow their array arguments on entry and pass the borrowed arrays to their helpers.
    A borrowed array must not outlive the call that borrowed it: never return it or store it.
    """
    if not isinstance(arr, types.Array):
        return None
    sig = Borrowed(arr.dtype, arr.ndim, arr.layout, not arr.mutable, arr.aligned)(arr)

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, value=args[0])
        dst = context.make_array(signature.return_type)(context, builder)
        dst.meminfo = cgutils.get_null_value(dst.meminfo.type)
        dst.parent = cgutils.get_null_value(dst.parent.type)
        dst.nitems = src.nitems
        dst.itemsize = src.itemsize
        dst.data = src.data
        dst.shape = src.shape
        dst.strides = src.strides
        return dst._getvalue()

    return sig, codegen


@intrinsic
def _borrow_row(typingctx, arr, i):
    """Row ``i`` of the 2-D array ``arr`` as a borrowed 1-D array (``borrow``), built
    without the intermediate view whose reference count ``borrow(arr[i])`` would take
    (numba could not remove that increment when the row is passed on to a compiled call).
    ``i`` must be a valid row index: nothing checks it."""
    if not (isinstance(arr, types.Array) and arr.ndim == 2 and isinstance(i, types.Integer)):
        return None
    layout = "C" if arr.layout == "C" else "A"
    sig = Borrowed(arr.dtype, 1, layout, not arr.mutable, arr.aligned)(arr, i)

    def codegen(context, builder, signature, args):
        from numba.np.arrayobj import populate_array

        src = context.make_array(signature.args[0])(context, builder, value=args[0])
        dst = context.make_array(signature.return_type)(context, builder)
        shape = cgutils.unpack_tuple(builder, src.shape, 2)
        strides = cgutils.unpack_tuple(builder, src.strides, 2)
        row = context.cast(builder, args[1], signature.args[1], types.intp)
        start = builder.gep(builder.bitcast(src.data, cgutils.voidptr_t),
                            [builder.mul(row, strides[0])])
        populate_array(dst, data=builder.bitcast(start, src.data.type), shape=[shape[1]],
                       strides=[strides[1]], itemsize=src.itemsize, meminfo=None)
        return dst._getvalue()

    return sig, codegen


def _borrow_row_python(arr, i):
    return arr[i]


@intrinsic
def _flat(typingctx, arr):
    """The C-contiguous array ``arr`` as a borrowed 1-D array (``borrow``) of all its
    entries: ``arr.reshape(arr.size)`` without numba's reshape, which compiles a function
    of its own into every kernel that calls it (the mini-batch pass's first compile: 0.1 s
    of ~2.3 s). ``arr`` must be C-contiguous: typing refuses any other layout."""
    if not (isinstance(arr, types.Array) and arr.layout == "C"):
        return None
    sig = Borrowed(arr.dtype, 1, "C", not arr.mutable, arr.aligned)(arr)

    def codegen(context, builder, signature, args):
        from numba.np.arrayobj import populate_array

        src = context.make_array(signature.args[0])(context, builder, value=args[0])
        dst = context.make_array(signature.return_type)(context, builder)
        populate_array(dst, data=src.data, shape=[src.nitems], strides=[src.itemsize],
                       itemsize=src.itemsize, meminfo=None)
        return dst._getvalue()

    return sig, codegen


def _flat_python(arr):
    return arr.reshape(arr.size)


#: ``arr.reshape(arr.size)`` of a C-contiguous array, borrowed, in compiled code
flat = _flat_python if JIT_DISABLED else _flat


@intrinsic
def _as_row(typingctx, arr):
    """The 1-D array ``arr`` as a borrowed (1, n) 2-D array (one row of targets, for the
    loss blocks that read Y[i, k]): ``arr.reshape((1, arr.shape[0]))`` without numba's
    reshape, which compiled a function of its own into each one-example kernel (and took a
    reference per call). Any layout: the row keeps ``arr``'s stride."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1):
        return None
    layout = "C" if arr.layout == "C" else "A"
    sig = Borrowed(arr.dtype, 2, layout, not arr.mutable, arr.aligned)(arr)

    def codegen(context, builder, signature, args):
        from numba.np.arrayobj import populate_array

        src = context.make_array(signature.args[0])(context, builder, value=args[0])
        dst = context.make_array(signature.return_type)(context, builder)
        n = cgutils.unpack_tuple(builder, src.shape, 1)[0]
        step = cgutils.unpack_tuple(builder, src.strides, 1)[0]
        populate_array(dst, data=src.data, shape=[n.type(1), n],
                       strides=[builder.mul(n, step), step], itemsize=src.itemsize,
                       meminfo=None)
        return dst._getvalue()

    return sig, codegen


def _as_row_python(arr):
    return arr.reshape((1, arr.shape[0]))


#: ``arr.reshape((1, arr.shape[0]))`` of a 1-D array, borrowed, in compiled code
as_row = _as_row_python if JIT_DISABLED else _as_row


@intrinsic
def _rows_of(typingctx, buf, start, n_rows, width):
    """buf[start:start + n_rows * width] of the C-contiguous 1-D array ``buf`` as a borrowed
    C-contiguous (n_rows, width) array, without numba's reshape (whose first use compiled
    for 0.1 s more in a first mini-batch fit). Nothing checks the bounds."""
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"
            and all(isinstance(t, types.Integer) for t in (start, n_rows, width))):
        return None
    sig = Borrowed(buf.dtype, 2, "C", not buf.mutable, buf.aligned)(buf, start, n_rows, width)

    def codegen(context, builder, signature, args):
        from numba.np.arrayobj import populate_array

        src = context.make_array(signature.args[0])(context, builder, value=args[0])
        dst = context.make_array(signature.return_type)(context, builder)
        first, n, w = (context.cast(builder, v, t, types.intp)
                       for v, t in zip(args[1:], signature.args[1:]))
        populate_array(dst, data=builder.gep(src.data, [first]), shape=[n, w],
                       strides=[builder.mul(w, src.itemsize), src.itemsize],
                       itemsize=src.itemsize, meminfo=None)
        return dst._getvalue()

    return sig, codegen


def _rows_of_python(buf, start, n_rows, width):
    return buf[start:start + n_rows * width].reshape((n_rows, width))


#: a run of ``n_rows * width`` entries of a 1-D array as a borrowed (n_rows, width) array
rows_of = _rows_of_python if JIT_DISABLED else _rows_of


def _byte_span(context, builder, arrty, value):
    """LLVM values (first, one past the last) byte address of the array ``value`` of type
    ``arrty``'s entries (NumPy's ``byte_bounds``); equal for an empty array."""
    ary = context.make_array(arrty)(context, builder, value=value)
    intp = context.get_value_type(types.intp)
    zero, one = intp(0), intp(1)
    base = builder.ptrtoint(ary.data, intp)
    lo = hi = base
    for n, step in zip(cgutils.unpack_tuple(builder, ary.shape, arrty.ndim),
                       cgutils.unpack_tuple(builder, ary.strides, arrty.ndim)):
        reach = builder.mul(builder.sub(n, one), step)
        back = builder.icmp_signed("<", reach, zero)
        lo = builder.add(lo, builder.select(back, reach, zero))
        hi = builder.add(hi, builder.select(back, zero, reach))
    empty = builder.icmp_signed("==", ary.nitems, zero)
    return (builder.select(empty, base, lo),
            builder.select(empty, base, builder.add(hi, ary.itemsize)))


@intrinsic
def _disjoint(typingctx, a, b):
    """Whether arrays ``a`` and ``b`` share no byte, from their address spans: a few LLVM
    instructions per pair (written as inline blocks, the 16 pairs of
    ``_checks.pass_arrays_apart`` made a first ``kernels.epoch`` compile 0.3-1.4 s longer)."""
    if not (isinstance(a, types.Array) and isinstance(b, types.Array)):
        return None

    def codegen(context, builder, signature, args):
        alo, ahi = _byte_span(context, builder, signature.args[0], args[0])
        blo, bhi = _byte_span(context, builder, signature.args[1], args[1])
        return builder.or_(builder.icmp_signed("<=", ahi, blo),
                           builder.icmp_signed("<=", bhi, alo))

    return types.boolean(a, b), codegen


def _disjoint_python(a, b):
    try:
        from numpy.lib.array_utils import byte_bounds  # NumPy >= 2.0
    except ImportError:
        byte_bounds = np.byte_bounds
    (alo, ahi), (blo, bhi) = byte_bounds(a), byte_bounds(b)
    return ahi <= blo or bhi <= alo


#: whether two arrays share no byte (their address spans do not meet), in compiled code
disjoint = _disjoint_python if JIT_DISABLED else _disjoint


#: ``arr[i]`` borrowed, in compiled code; the plain row when the JIT is switched off
borrow_row = _borrow_row_python if JIT_DISABLED else _borrow_row


@inline
def units_rows(units):
    """The four rows z, a, delta, mask of a workspace's ``units`` (4, width), borrowed:
    of the types the passes' ``ws.z``, ``ws.a``, ... have, so that a one-example kernel
    reuses the helpers (activations, losses, row sweeps) compiled for them. ``units[0]``
    is an ordinary array, a type of its own: a first ``partial_fit`` after a fit compiled
    every helper again (2.26-2.30 s of process time, now 1.33-1.36; fresh cache, 2-4-1,
    pinned), and its row views were reference counted."""
    return (borrow_row(units, U(0)), borrow_row(units, U(1)), borrow_row(units, U(2)),
            borrow_row(units, U(3)))


def _borrow_python(arr):
    """Pure-Python ``borrow``: the array itself (there is no reference count to skip)."""
    return arr


#: ``borrow`` inside compiled code; the identity when the JIT is switched off
borrow = _borrow_python if JIT_DISABLED else _borrow


@intrinsic
def _keep_alive(typingctx, arr):
    """Nothing, compiled: a use of ``arr`` at this point of the kernel.

    numba releases a variable's reference right after its last use, so an array a kernel
    allocates and then only ``borrow``s is freed at once while its borrowed views are
    still in use (the mini-batch pass's scratch was: it trained in freed memory, and
    crashed where the allocator had returned that memory to the system). Calling
    ``keep_alive(arr)`` after the last use of the borrowed views keeps ``arr`` allocated
    until then."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        return context.get_dummy_value()

    return types.none(arr), codegen


def _keep_alive_python(arr):
    return None


#: ``keep_alive(arr)``: ``arr`` stays allocated at least until this call (compiled code)
keep_alive = _keep_alive_python if JIT_DISABLED else _keep_alive


def _bits_as(float_type, int_type):
    """An intrinsic: the ``float_type`` whose IEEE-754 bit pattern is the ``int_type`` bits
    (an LLVM bitcast, which vectorises: ``fastbp.activations.exp`` builds 2**n with it), and
    its plain-Python form for ``NUMBA_DISABLE_JIT=1``."""
    dtype, idtype = np.dtype(str(float_type)), np.dtype(str(int_type))

    @intrinsic
    def bits_as(typingctx, bits):
        if not isinstance(bits, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            val = context.cast(builder, args[0], signature.args[0], int_type)
            return builder.bitcast(val, context.get_value_type(float_type))

        return float_type(int_type), codegen

    def bits_as_python(bits):
        return idtype.type(bits).view(dtype)

    return bits_as_python if JIT_DISABLED else bits_as


#: int64 / int32 bit pattern -> float64 / float32, in compiled code and (JIT off) in Python
bits_as_float64 = _bits_as(types.float64, types.int64)
bits_as_float32 = _bits_as(types.float32, types.int32)


def cast_like(arr, value):
    """``value`` converted to the dtype of ``arr`` (an array or a number): accumulators and
    constants of a float32 kernel stay float32 (a float literal is a float64 in numba, and
    mixed float32/float64 arithmetic converts every element).

    In compiled code a builtin, lowered where it is called to one LLVM conversion, not an
    overload inlined at each call site: numba types each inlined copy of an overload on its
    own, and the kernels call this a few hundred times (first plain fit, fresh cache, 2-4-1,
    pinned: numba's inline_overloads pass took 0.25 s, 8% of the compile)."""
    return np.asarray(arr).dtype.type(value)


@type_callable(cast_like)
def _type_cast_like(context):
    def typer(arr, value):
        dtype = arr.dtype if isinstance(arr, types.Array) else types.unliteral(arr)
        if isinstance(dtype, types.Number) and isinstance(value, (types.Number, types.Boolean)):
            return dtype
        return None

    return typer


@lower_builtin(cast_like, types.Any, types.Any)
def _lower_cast_like(context, builder, sig, args):
    return context.cast(builder, args[1], sig.args[1], sig.return_type)
