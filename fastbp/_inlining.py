"""numba's inline decision for fastbp's building blocks (``_jit.inline``), and the inlining
pass of fastbp's kernels (``Compiler``, at the end).

numba inlines a block called from a kernel by running the block's untyped passes and
deep-copying its IR into the kernel at the call site, then rescans the copied blocks for
further calls. It prunes the branches that the kernel's constants decide (``if dropout:``
with ``dropout`` a closure constant, ``if code != SGD:`` with a constant code) only after
inlining, so every block called behind such a branch was copied into the kernel and then
thrown away. The decision here inlines a block

- into a function being compiled, never into another block's own IR: numba deep-copies an
  inlined callee with a per-block copy of its whole scope (cost blocks x variables), so a
  block made of blocks (``backward_update`` with its three ``sgd_rows``: 121 blocks, 1533
  variables) cost 0.66 s per copy; left as calls, the inner blocks are inlined when the
  outer block lands in the kernel, each copied at its own size (the per-example pass's
  inlining 1.82 -> 0.69 s);
- only where the call can run: a call in a block that the kernel's constant branches cut
  off stays a call (pruned before typing, so it is never compiled). The stateful
  optimisers' per-example pass copied plain SGD's three ``sgd_rows`` into itself for
  nothing.

The reachability analysis is deliberately small: a branch is decided when its condition
resolves, through single reachable definitions, to a constant, a global or a closure
variable, ``bool()`` of one, or ``==``, ``!=``, ``is``, ``is not`` of two. Anything else
keeps both ways open, so a call is skipped only when it cannot run; the compiled code is
the same either way (numba prunes the same branches before typing).
"""
import copy
import gc
import operator
from contextlib import contextmanager

from numba.core import compiler as _compiler
from numba.core import inline_closurecall as _icc
from llvmlite import binding as _llvm
from numba.core import ir
from numba.core.codegen import JITCodeLibrary
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_machinery import register_pass
from numba.core.typed_passes import NopythonTypeInference
from numba.core.types import functions as _functions
from numba.core.untyped_passes import InlineInlinables

#: the Python functions of fastbp's building blocks
BLOCKS = set()

_FOLDABLE = (operator.eq, operator.ne, operator.is_, operator.is_not)
_CONSTANTS = (ir.Const, ir.Global, ir.FreeVar)


def into_kernels_only(expr, caller_ir, callee_ir):
    """The cost model of ``_jit.inline``: inline the block called by ``expr`` when the
    caller is not a block and the call can run."""
    if caller_ir.func_id.func in BLOCKS:
        return False
    try:
        return _can_run(caller_ir.blocks, expr)
    except Exception:  # an IR shape this analysis does not know: numba's default
        return True


def _can_run(blocks, expr):
    """Whether the block holding ``expr`` is reachable from the entry of ``blocks``."""
    home = next((label for label, block in blocks.items()
                 for stmt in block.body
                 if isinstance(stmt, ir.Assign) and stmt.value is expr), None)
    if home is None:
        return True
    live = set(blocks)
    while True:  # reachability and definitions refine each other: until neither changes
        defs = {}
        for label in live:
            for stmt in blocks[label].body:
                if isinstance(stmt, ir.Assign):
                    defs.setdefault(stmt.target.name, []).append(stmt.value)
        reached = _reached(blocks, defs)
        if reached == live:
            return home in live
        live = reached


def _reached(blocks, defs):
    """The labels reachable from the entry, following only the decided way of each branch
    whose condition resolves through ``defs``."""
    entry = min(blocks)
    reached = {entry}
    todo = [entry]
    while todo:
        last = blocks[todo.pop()].body[-1]
        if isinstance(last, ir.Jump):
            nxt = (last.target,)
        elif isinstance(last, ir.Branch):
            known, value = _resolve(defs, last.cond, 0)
            if known and isinstance(value, (bool, int)):
                nxt = (last.truebr if value else last.falsebr,)
            else:
                nxt = (last.truebr, last.falsebr)
        else:
            nxt = ()
        for label in nxt:
            if label not in reached and label in blocks:
                reached.add(label)
                todo.append(label)
    return reached


def _resolve(defs, value, depth):
    """(True, its value) when the IR value is decided by constants; (False, None) if not."""
    if depth > 32:
        return False, None
    if isinstance(value, _CONSTANTS):
        return True, value.value
    if isinstance(value, ir.Var):
        found = defs.get(value.name)
        if found is None or len(found) != 1:
            return False, None
        return _resolve(defs, found[0], depth + 1)
    if isinstance(value, ir.Expr):
        if value.op == "binop" and value.fn in _FOLDABLE:
            known, lhs = _resolve(defs, value.lhs, depth + 1)
            if known:
                known, rhs = _resolve(defs, value.rhs, depth + 1)
                if known:
                    return True, bool(value.fn(lhs, rhs))
        elif value.op == "call" and len(value.args) == 1 and not value.kws:
            known, func = _resolve(defs, value.func, depth + 1)
            if known and func is bool:
                return _resolve(defs, value.args[0], depth + 1)
    return False, None


# ------------------------------------------------ the inlining pass of fastbp's kernels
# numba's InlineInlinables, as fastbp's kernels compile it (``_jit``'s ``pipeline_class``),
# with three costs of a first compile removed for fastbp's blocks (BLOCKS), measured on a
# first plain fit, fresh cache, 2-4-1, one pinned core: 4.73 -> 3.88 s.
#
# - numba builds the callee's IR (its untyped passes) at every call site it inlines and
#   runs the bytecode frontend once more per candidate call for the cost model, which here
#   does not read the callee's IR: both are built once per block and process here
#   (``_BlockInliner.run_untyped_passes``, ``_frontend``), and never mutated (the inliner copies them).
# - numba's ``InlineWorker.inline_ir`` deep-copies the callee twice, block by block, and so
#   copies the callee's whole scope (every variable) once per block: here the callee's
#   blocks are deep-copied once, together (one scope), and handed to ``inline_ir`` as
#   blocks that are their own copies (``_Copied``) for the duration of the call; its second,
#   "unmutated" copy, which InlineInlinables ignores, is then that same object.
#
# numba compiles under one global lock, so the module attributes swapped for the duration
# of the pass (``_swapped``) are seen by this pass alone.

_untyped_cache = {}
_frontend_cache = {}


class _Copied(ir.Block):
    """A block already copied for one call site: ``copy.deepcopy`` returns it as it is."""

    def __deepcopy__(self, memo):
        return self


class _BlockInliner(_icc.InlineWorker):
    """numba's InlineWorker with the callee IR of fastbp's blocks built once and copied
    once per call site."""

    def run_untyped_passes(self, func, enable_ssa=False):
        if func not in BLOCKS:
            return super().run_untyped_passes(func, enable_ssa)
        self.flags.enable_ssa = enable_ssa  # numba's run_untyped_passes sets it on the flags
        key = (func, enable_ssa)
        if key not in _untyped_cache:
            _untyped_cache[key] = super().run_untyped_passes(func, enable_ssa)
        return _untyped_cache[key]

    def inline_ir(self, caller_ir, block, i, callee_ir, *args, **kws):
        if callee_ir.func_id.func not in BLOCKS:
            return super().inline_ir(caller_ir, block, i, callee_ir, *args, **kws)
        own = callee_ir.copy()
        own.blocks = copy.deepcopy(callee_ir.blocks)  # one memo: the scope is copied once
        for b in own.blocks.values():
            b.__class__ = _Copied
        try:
            return super().inline_ir(caller_ir, block, i, own, *args, **kws)
        finally:  # the blocks now live in the caller's IR: plain blocks again
            for b in list(own.blocks.values()) + list(caller_ir.blocks.values()):
                if type(b) is _Copied:
                    b.__class__ = ir.Block


def _frontend(func, inline_closures=False, emit_dels=False):
    """numba's ``run_frontend``, once per fastbp block (the cost model's callee IR)."""
    if func not in BLOCKS:
        return _numba_frontend(func, inline_closures, emit_dels)
    key = (func, inline_closures, emit_dels)
    if key not in _frontend_cache:
        _frontend_cache[key] = _numba_frontend(func, inline_closures, emit_dels)
    return _frontend_cache[key]


_numba_frontend = _compiler.run_frontend


@contextmanager
def _swapped():
    """numba's InlineInlinables looks ``InlineWorker`` and ``run_frontend`` up when it runs:
    ours for the duration of the pass."""
    saved = _icc.InlineWorker, _compiler.run_frontend
    _icc.InlineWorker, _compiler.run_frontend = _BlockInliner, _frontend
    try:
        yield
    finally:
        _icc.InlineWorker, _compiler.run_frontend = saved


@register_pass(mutates_CFG=True, analysis_only=False)
class InlineBlocks(InlineInlinables):
    """numba's InlineInlinables with fastbp's blocks built and copied once (above)."""

    _name = "fastbp_inline_blocks"

    def run_pass(self, state):
        with _swapped():
            return super().run_pass(state)


# ------------------------------------------------- the type inference of fastbp's kernels
# numba types every call expression (an ``a + b``, an ``x[i]``, a call of ``range``) by
# trying the templates of the function it calls, one by one, at every site: the same
# (function, argument types) pair again and again (a first plain fit and then a mini-batch
# fit: 9074 resolutions, 967 distinct). While fastbp's kernels are typed, the signature a
# function's templates give for those argument types is remembered for the process: first
# plain fit 3.65 -> 3.21-3.23 s, then a mini-batch fit 3.19-3.24 -> 2.75-2.79, Adam 2.16-2.20
# -> 1.94-1.95 (fresh cache, 2-4-1, one pinned core, alternating processes), the same typed
# IR. Only successful resolutions are remembered (a failure raises again, as numba's own
# would); a template that wants literal arguments is tried with them as numba tries it,
# because the key holds the argument types as given (literals included). A function type
# that gains templates later (a new ``overload``) is a new type object, and so a new key.

_signatures = {}


def _remembered_call_type(self, context, args, kws):
    """``BaseFunction.get_call_type``, remembered by (function type, context, args, kws)."""
    try:
        key = (self, context, tuple(args), tuple(sorted(kws.items())))
        sig = _signatures.get(key)
    except TypeError:  # an unhashable argument type: numba's way
        return _numba_call_type(self, context, args, kws)
    if sig is None:
        sig = _numba_call_type(self, context, args, kws)
        if sig is not None:
            _signatures[key] = sig
    return sig


_numba_call_type = _functions.BaseFunction.get_call_type


@register_pass(mutates_CFG=True, analysis_only=False)
class TypeKernel(NopythonTypeInference):
    """numba's nopython type inference with call signatures remembered (above)."""

    _name = "fastbp_type_inference"

    def run_pass(self, state):
        saved = _functions.BaseFunction.get_call_type
        _functions.BaseFunction.get_call_type = _remembered_call_type
        try:
            return super().run_pass(state)
        finally:
            _functions.BaseFunction.get_call_type = saved


@contextmanager
def gc_paused():
    """Python's cyclic garbage collector paused (fastbp's compilations run inside).

    numba's compiler makes millions of objects, so the collector ran over and over through
    ever larger heaps and found little: a first plain fit (fresh cache, 2-4-1, pinned,
    process time) took 2.73 s with it and 2.26-2.32 s without, a mini-batch fit after it
    2.55-2.66 and 2.17-2.26 s, Adam 1.50-1.56 and 1.31-1.34 s; the peak memory did not grow
    (289 MB). The garbage is collected after, as usual. Left off if it was off; with two
    threads compiling, the first to finish switches it on again (which only costs time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class Compiler(CompilerBase):
    """numba's nopython pipeline with ``InlineBlocks`` in place of InlineInlinables and
    ``TypeKernel`` in place of its type inference (the ``pipeline_class`` of every fastbp
    kernel, ``_jit._flags``); an ``_jit.internal`` helper's code goes into a
    ``LinkOnlyLibrary``."""

    def define_pipelines(self):
        if self.state.flags.no_cpython_wrapper and self.state.library is None:
            # an ``_jit.internal`` helper: its code goes into its callers only
            library = LinkOnlyLibrary(self.state.targetctx.codegen(),
                                      self.state.func_id.func_qualname)
            library.enable_object_caching()  # as numba's lowering does (for the cache)
            self.state.library = library
        pm = DefaultPassBuilder.define_nopython_pipeline(self.state)
        swap = {InlineInlinables: InlineBlocks, NopythonTypeInference: TypeKernel}
        pm.passes = [(swap.get(p, p), d) for p, d in pm.passes]
        return [pm]

    def _compile_core(self):
        with gc_paused():
            return super()._compile_core()


class LinkOnlyLibrary(JITCodeLibrary):
    """The code library of an ``_jit.internal`` helper: its LLVM IR (numba's per-function
    optimisation only, ``_optimize_final_module``), which every compiled caller links into
    its own module and optimises there (as numba does with any callee), and no
    machine code of its own, which nothing would call (the helper has no Python entry
    point). numba generated machine code for each helper on its own and again inside each
    caller: a first plain fit (fresh cache, 2-4-1, pinned) compiled 2.82-2.84 s with that
    and 2.59-2.60 s without, a first Adam fit after it 1.60-1.61 and 1.51-1.52 s.

    What the execution engine receives instead is a module holding only the helper's
    environment pointer (numba stores the environment's address there after compiling,
    and a cached helper is loaded the same way): numba's cache entry for the helper is that
    module's object code and the linkable IR, which is what a caller compiled in a later
    process links."""

    def _optimize_final_module(self):
        """Nothing: the callers optimise the helper's IR in their own modules, where it is
        linked (and mostly inlined) anyway. numba ran LLVM's whole module pipeline on each
        helper's own module as well (its loops vectorised with no call site in view), and
        the callers optimised the result again: a first plain fit (fresh cache, 2-4-1,
        pinned, process time) 2.75-2.78 -> 2.38-2.41 s, a first float32 fit after it 2.51-2.53
        -> 2.14-2.18. Per example 2-4-1 0.107-0.110 -> 0.099-0.100 µs (float64), 0.081-0.082 ->
        0.072-0.074 (float32), and at batch 32 (the mini-batch products are helpers too)
        2-4-1 0.071 -> 0.058 and 0.049 -> 0.038, 64-32-10 0.306 -> 0.265 and 0.224 -> 0.191;
        the 184-configuration thetas as with the helpers inlined, bit for bit."""

    def _finalize_final_module(self):
        full = self._final_module
        self._finalized = True  # _get_module_for_linking requires it
        self._get_module_for_linking()  # the linkable copy of the IR (kept)
        env = [str(gv) for gv in full.global_variables if gv.name.startswith("_ZN08NumbaEnv")]
        module = _llvm.parse_assembly("\n".join(env))
        module.triple, module.data_layout = full.triple, full.data_layout
        self._final_module = module
        super()._finalize_final_module()


class NoAliasCompiler(Compiler):
    """``Compiler`` for a helper whose array arguments never overlap where one of them is
    written (``_jit.internal(..., noalias=True)``): LLVM is told so (numba's ``noalias``
    flag, which its parallel backend sets for its own kernels), and drops the run-time
    overlap checks it put in front of each vectorised loop."""

    def define_pipelines(self):
        self.state.flags.noalias = True
        return super().define_pipelines()
