"""numba's inline decision for fastbp's building blocks (``_jit.inline``).

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
import operator

from numba.core import ir

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
