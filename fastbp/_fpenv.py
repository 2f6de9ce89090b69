"""The floating-point environment of the epoch passes: subnormal numbers flushed to zero.

A number below the smallest normal one (2.2e-308 in float64, 1.2e-38 in float32) costs an
x86 core a microcode assist of ~100+ cycles whenever an instruction reads or writes it. A
network whose sigmoid units saturate makes them all the time: activations and deltas near
zero, and the optimisers' moments, which decay towards zero and then stay there (0.9 times
the smallest subnormal rounds back to it). 784-100-10 float32 with Adam (lr 0.01, inputs
uniform in [0, 1)) ran 163, 228, 260 µs per example in its first three epochs, with 35% of
its first moments subnormal after two; with the flush-to-zero (FTZ) and denormals-are-zero
(DAZ) bits of the MXCSR register set, 36, 32, 32 µs and the same parameters bit for bit.
JAX on CPU runs the same way (XLA's CPU client flushes denormals); PyTorch does not by
default (``torch.set_flush_denormal``).

So every epoch pass sets both bits on entry and restores the caller's register on return
(``flushing`` / ``restore``), and so do the stateful optimisers' one-step kernels
(``optim.step``, the River learner's step), whose moments persist from call to call, and
``partial_fit``'s one-example kernel (``kernels.checked_step``), whose result must be its
full path's (an epoch pass) bit for bit: without, a float32 2-1 network initialised at zero
took weights of 5e-41 from one example where the pass and ``fit`` leave 0 (test). The
thread's environment outside them is untouched, and each thread of a parallel kernel sets
its own. Plain SGD's public one-step kernel (``kernels.sgd_step``, for a user's @njit loop)
keeps no decaying state and leaves the register alone (two writes per step cost 2-4-1 6%):
a subnormal there stays one. A value
that would have been subnormal becomes zero inside the pass; parameters move by less than
their own ulp from such a value, so they match the NumPy baseline's IEEE arithmetic in every
test here. On a machine that is
not x86-64, and with the JIT off, both calls do nothing.
"""
import platform

from numba import types
from numba.extending import intrinsic

from ._jit import JIT_DISABLED, inline, jit

#: MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6) bits
FTZ_DAZ = 0x8040

X86 = platform.machine().lower() in ("x86_64", "amd64")


def _mxcsr_intrinsic(set_bits):
    """An intrinsic returning MXCSR (uint32) and, with ``set_bits``, setting it to its
    argument: LLVM's ``llvm.x86.sse.stmxcsr`` / ``ldmxcsr`` through a stack slot."""

    @intrinsic
    def mxcsr(typingctx, value):
        def codegen(context, builder, signature, args):
            from llvmlite import ir

            i8p = ir.IntType(8).as_pointer()
            fnty = ir.FunctionType(ir.VoidType(), [i8p])
            slot = builder.alloca(ir.IntType(32))
            ptr = builder.bitcast(slot, i8p)
            builder.call(builder.module.declare_intrinsic("llvm.x86.sse.stmxcsr", fnty=fnty),
                         [ptr])
            old = builder.load(slot)
            if set_bits:
                builder.store(context.cast(builder, args[0], signature.args[0], types.uint32),
                              slot)
                builder.call(builder.module.declare_intrinsic("llvm.x86.sse.ldmxcsr",
                                                              fnty=fnty), [ptr])
            return old

        return types.uint32(value), codegen

    return mxcsr


if X86 and not JIT_DISABLED:
    _read, _write = _mxcsr_intrinsic(False), _mxcsr_intrinsic(True)

    @inline
    def flushing():
        """Set FTZ and DAZ; returns the caller's MXCSR for ``restore``."""
        old = _read(0)
        _write(old | FTZ_DAZ)
        return old

    @inline
    def restore(old):
        """Put back the MXCSR that ``flushing`` returned."""
        _write(old)

    @jit
    def mxcsr():
        """The calling thread's MXCSR (for tests)."""
        return _read(0)
else:  # no MXCSR here (or no JIT): the same calls, doing nothing
    def flushing():
        """Nothing to set; returns 0 for ``restore``."""
        return 0

    def restore(old):
        """Nothing to restore."""
        return None

    def mxcsr():
        """0: there is no MXCSR to read."""
        return 0

    if not JIT_DISABLED:  # the epoch passes call them from compiled code
        flushing, restore, mxcsr = inline(flushing), inline(restore), jit(mxcsr)
