"""Entry checks of the public kernels: every argument must fit the network's spec.

The kernels index flat arrays with offsets taken from ``Spec.table`` and do no bounds
checking (that would keep the hot loops from vectorising), so an argument of the wrong size
(a theta, workspace or optimiser state of another network, an x of the wrong length, a row
index out of range) would read or write outside its buffer: a crash or a silent garbage
result. Each public kernel therefore calls these functions once at entry, on the arrays it
has already borrowed (``_jit.borrow``): they are inline blocks, and checking the original
arrays would reference-count each of them, which doubled the tiny per-step cost (2-4-1
``sgd_step`` from a user loop: 0.19 -> 0.37 µs; on borrowed arrays 0.20). They compare
sizes only: O(layers), plus O(n) for a row order in the whole-pass kernels, and never
allocate. They raise ValueError from nopython code, so the messages are constant strings
naming the argument and what it must match.

The table itself is validated too (``spec_sizes``): ``Layout.spec`` makes it read-only, but a
user can still build a ``Spec`` of their own.
"""
from . import activations as act
from . import losses, rules
from ._jit import disjoint, inline
from .layout import ACT, B_OFF, SIZES, U_OFF, W_OFF

#: largest layer size accepted: keeps every product of two sizes and every sum of them far
#: from int64 overflow (2**30 units in one layer would not fit in memory anyway)
MAX_UNITS = 1 << 30
#: largest n_params / n_units accepted (the running sums are checked against it per layer)
MAX_TOTAL = 1 << 62


@inline
def _output_code_ok(code):
    return (code == act.IDENTITY or code == act.SIGMOID or code == act.TANH
            or code == act.SOFTMAX)


@inline
def spec_sizes(tab, loss):
    """(n_params, n_units) of a consistent spec table; ValueError if the table is not one
    ``Layout.spec`` could have built (sizes, offsets, activation and loss codes)."""
    if tab.shape[0] != 5 or tab.shape[1] < 2:
        raise ValueError("spec.table must have shape (5, L) with L >= 2 layers: "
                         "pass the spec of a Network (net.spec)")
    if loss != losses.MSE and loss != losses.CROSS_ENTROPY:
        raise ValueError("spec.loss is not a loss code of fastbp.losses.CODES")
    L = tab.shape[1]
    pos = 0
    units = 0
    for l in range(L):
        s = tab[SIZES, l]
        if s < 1 or s > MAX_UNITS:
            raise ValueError("spec.table: every layer size must be in [1, 2**30]")
        if tab[U_OFF, l] != units:
            raise ValueError("spec.table: the unit offsets (row U_OFF) do not match the "
                             "layer sizes: pass the spec of a Network (net.spec)")
        units += s
        if l < L - 1:
            n_out = tab[SIZES, l + 1]
            if n_out < 1 or n_out > MAX_UNITS:
                raise ValueError("spec.table: every layer size must be in [1, 2**30]")
            if tab[W_OFF, l] != pos:
                raise ValueError("spec.table: the weight offsets (row W_OFF) do not match "
                                 "the layer sizes: pass the spec of a Network (net.spec)")
            pos += n_out * s
            if tab[B_OFF, l] != pos:
                raise ValueError("spec.table: the bias offsets (row B_OFF) do not match "
                                 "the layer sizes: pass the spec of a Network (net.spec)")
            pos += n_out
            if pos > MAX_TOTAL:
                raise ValueError("spec.table: the network has too many parameters")
            code = tab[ACT, l]
            if l < L - 2:
                if code < act.IDENTITY or code > act.SOFTPLUS:
                    raise ValueError("spec.table: a hidden layer's activation code (row "
                                     "ACT) is not one of fastbp.activations.HIDDEN")
            elif not _output_code_ok(code):
                raise ValueError("spec.table: the output activation code (row ACT) is not "
                                 "one of fastbp.activations.OUTPUT")
    return pos, units


@inline
def theta_fits(theta, n_params):
    if theta.shape[0] != n_params:
        raise ValueError("theta must have n_params entries of the spec (theta.shape[0] != "
                         "n_params): use the theta of the network the spec comes from")


@inline
def workspace_fits(ws, n_units, n_params, uses_grad):
    """ws.z, a, delta and mask hold n_units entries or more; ws.grad n_params if used."""
    if (ws.z.shape[0] < n_units or ws.a.shape[0] < n_units or ws.delta.shape[0] < n_units
            or ws.mask.shape[0] < n_units):
        raise ValueError("ws: the workspace buffers z, a, delta and mask must have at least "
                         "n_units entries of the spec: use net.workspace() of this network")
    if uses_grad and ws.grad.shape[0] < n_params:
        raise ValueError("ws.grad must have at least n_params entries of the spec: use "
                         "net.workspace() of this network")


@inline
def units_fit(units, n_units):
    """The (4, width >= n_units) ``Workspace.units`` array of ``checked_step``."""
    if units.shape[0] < 4 or units.shape[1] < n_units:
        raise ValueError("units must have shape (4, n_units or more) of the spec: pass "
                         "Workspace.units of this network")


@inline
def x_fits(tab, x):
    if x.shape[0] != tab[SIZES, 0]:
        raise ValueError("x must have n_inputs entries (x.shape[0] == spec.table[SIZES, 0])")


@inline
def y_fits(tab, y):
    if y.shape[0] != tab[SIZES, tab.shape[1] - 1]:
        raise ValueError("y must have n_outputs entries (y.shape[0] == spec.table[SIZES, -1])")


@inline
def data_fits(tab, X, Y):
    if X.shape[1] != tab[SIZES, 0]:
        raise ValueError("X must have n_inputs columns (X.shape[1] == spec.table[SIZES, 0])")
    if Y.shape[1] != tab[SIZES, tab.shape[1] - 1]:
        raise ValueError("Y must have n_outputs columns (Y.shape[1] == "
                         "spec.table[SIZES, -1])")
    if X.shape[0] != Y.shape[0]:
        raise ValueError("X and Y must have the same number of rows")


@inline
def order_fits(order, n):
    """Every row index of ``order`` in [0, n): O(len(order)), once per pass."""
    for t in range(order.shape[0]):
        i = order[t]
        if i < 0 or i >= n:
            raise ValueError("order: every row index must be in [0, X.shape[0])")


@inline
def batch_size_fits(batch_size):
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")


@inline
def out_fits(tab, X, out):
    if out.shape[0] != X.shape[0] or out.shape[1] != tab[SIZES, tab.shape[1] - 1]:
        raise ValueError("out must have shape (X.shape[0], n_outputs) of the spec")


@inline
def params_fit(arr, n_params):
    """A gradient or backup buffer of theta's layout."""
    if arr.shape[0] != n_params:
        raise ValueError("grad / backup must have n_params entries of the spec (theta's "
                         "layout)")


@inline
def opt_fits(opt, n_params):
    """An ``OptState`` for a network of n_params parameters (``optim.make_state``)."""
    code = opt.code
    if code < rules.SGD or code > rules.ADAM:
        raise ValueError("opt.code is not an optimiser code of fastbp.rules.CODES")
    if opt.hp.shape[0] < 6:
        raise ValueError("opt.hp must have 6 entries (lr, l2, momentum, beta1, beta2, eps): "
                         "use optim.make_state")
    if opt.t.shape[0] < 1:
        raise ValueError("opt.t must have 1 entry: use optim.make_state")
    if code != rules.SGD and opt.m.shape[0] != n_params:
        raise ValueError("opt.m must have n_params entries of the spec: make the state with "
                         "optim.make_state(optimizer, net.n_params, ...) of this network")
    if code == rules.ADAM and opt.v.shape[0] != n_params:
        raise ValueError("opt.v must have n_params entries of the spec: make the state with "
                         "optim.make_state(optimizer, net.n_params, ...) of this network")


@inline
def dropout_fits(drop, n_layers):
    """A ``Dropout`` for a network of n_layers layers (``optim.make_dropout``)."""
    if drop.keep.shape[0] != n_layers or drop.scale.shape[0] != n_layers:
        raise ValueError("drop.keep and drop.scale must have one entry per layer of the "
                         "spec: use optim.make_dropout(rates, len(net.sizes), ...)")
    if drop.counter.shape[0] < 1:
        raise ValueError("drop.counter must have 1 entry: use optim.make_dropout")


@inline
def pass_arrays_apart(theta, ws, X):
    """theta, the workspace's z, a, delta and mask and X share no memory (ValueError): the
    per-example passes are compiled on that promise (``_inlining.NoAliasCompiler``), and
    overlapping buffers would compute garbage in any case. O(1), once per pass."""
    z, a, d, m = ws.z, ws.a, ws.delta, ws.mask
    if not (disjoint(z, theta) and disjoint(a, theta) and disjoint(d, theta)
            and disjoint(m, theta)):
        raise ValueError("ws: the workspace buffers must not share memory with theta: use "
                         "net.workspace()")
    if not (disjoint(z, a) and disjoint(z, d) and disjoint(z, m) and disjoint(a, d)
            and disjoint(a, m) and disjoint(d, m)):
        raise ValueError("ws: the workspace buffers z, a, delta and mask must not share "
                         "memory: use net.workspace()")
    if not (disjoint(z, X) and disjoint(a, X) and disjoint(d, X) and disjoint(m, X)):
        raise ValueError("X must not share memory with the workspace: pass a copy of X")
    if not disjoint(X, theta):
        raise ValueError("X must not share memory with theta (training would change its "
                         "own data): pass a copy of X")


@inline
def network_fits(theta, tab, loss, ws, uses_grad):
    """The spec (``tab``, ``loss``), theta and the workspace of one network; returns
    (n_params, n_units)."""
    n_params, n_units = spec_sizes(tab, loss)
    theta_fits(theta, n_params)
    workspace_fits(ws, n_units, n_params, uses_grad)
    return n_params, n_units


@inline
def output_fits(tab, loss, ws, y):
    """After ``forward``: the workspace holds the spec's units and y its outputs."""
    _, n_units = spec_sizes(tab, loss)
    workspace_fits(ws, n_units, 0, False)
    y_fits(tab, y)


@inline
def pass_fits(tab, theta, ws, X, Y, order, batch_size):
    """The data of a whole pass: (X, Y) fit the spec, order indexes their rows, and X,
    theta and the workspace share no memory."""
    data_fits(tab, X, Y)
    order_fits(order, X.shape[0])
    batch_size_fits(batch_size)
    pass_arrays_apart(theta, ws, X)
