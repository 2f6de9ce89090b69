"""Every natural form of a one-example ``partial_fit`` and a one-row ``predict`` takes the
fast path (fastbp._online) and gives exactly the full path's result; whatever the full path
refuses still raises its error, before any change of state."""
import threading
import warnings
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import fastbp
from fastbp import kernels

DTYPES = ["float64", "float32"]
# (sizes, output, loss)
NETS = {"sigmoid-ce": ([2, 4, 1], "sigmoid", None), "sigmoid-mse": ([3, 5, 1], "sigmoid", "mse"),
        "softmax": ([4, 6, 3], "softmax", None)}


def make(name, dtype):
    sizes, output, loss = NETS[name]
    return fastbp.Network(sizes, hidden="tanh", output=output, loss=loss, dtype=dtype, seed=3)


def no_full_path(net):
    """Make the full path fail the test: the call must be served by the fast path."""
    def full(*args):
        raise AssertionError(f"took the full path: {args}")
    net._partial_fit = full


def examples(net, n=3):
    rng = np.random.default_rng(7)
    xs = rng.standard_normal((n, net.sizes[0]))
    if net.output == "softmax":
        return [(x, int(c)) for x, c in zip(xs, rng.integers(0, net.sizes[-1], n))]
    return [(x, float(t)) for x, t in zip(xs, rng.uniform(0, 1, n))]


def mixed_list(x):
    """x as a list of python and NumPy numbers of every kind the full path reads the same
    way (each value unchanged where the kind can hold it)."""
    kinds = (float, np.float64, np.float32, lambda v: int(round(4 * v)), Fraction,
             lambda v: Decimal(repr(float(v))), lambda v: bool(v > 0), np.int32)
    return [kinds[i % len(kinds)](v) for i, v in enumerate(x.tolist())]


def x_forms(net):
    dt = net.dtype
    other = np.float32 if dt == np.float64 else np.float64
    return {"1-D": lambda x: x.astype(dt), "list": lambda x: x.tolist(), "mixed list": mixed_list,
            "tuple": lambda x: tuple(x.tolist()),
            "strided view": lambda x: np.asfortranarray(np.tile(x.astype(dt), (2, 1)))[1],
            "other dtype": lambda x: x.astype(other), "float64": lambda x: x}


def y_forms(net):
    dt = net.dtype
    if net.output == "softmax":
        m = net.sizes[-1]
        return {"int": int, "np.int64": np.int64, "np.int32": np.int32,
                "0-d": lambda c: np.array(c), "one-hot": lambda c: np.eye(m, dtype=dt)[c],
                "one-hot float64": lambda c: np.eye(m)[c], "one-hot list": lambda c: np.eye(m)[c].tolist(),
                "one-hot int": lambda c: np.eye(m, dtype=np.int64)[c],
                "one-hot (1, m)": lambda c: np.eye(m)[c][None, :]}
    forms = {"float": float, "np.float64": np.float64, "np.float32": np.float32,
             "0-d": lambda t: np.array(t), "(1,)": lambda t: np.array([t], dtype=dt),
             "list": lambda t: [t], "(1, 1)": lambda t: np.array([[t]])}
    if net.loss_name == "cross_entropy":  # integer targets 0 / 1
        forms.update({"int": lambda t: int(t > 0.5), "np.int64": lambda t: np.int64(t > 0.5)})
    return forms


def check_same(name, dtype, fx, fy, kwargs=None, row=False):
    """partial_fit with x and y in the given forms == the full path given the same arguments
    (fast path only: the full path of ``net`` fails the test), theta bit for bit."""
    kwargs = {"lr": 0.05, **(kwargs or {})}
    net = make(name, dtype)
    ref = net.copy()
    ref._theta[:] = net._theta
    no_full_path(net)
    for x, y in examples(net):
        xf, yf = fx(x), fy(y)
        if row:
            xf = np.asarray(xf)[None, :]
        want = ref._partial_fit(xf, yf, kwargs["lr"], kwargs.get("batch_size", 1),
                                kwargs.get("l2", 0.0))
        got = net.partial_fit(xf, yf, **kwargs)
        assert type(got) is float and got == want
        np.testing.assert_array_equal(net.theta, ref.theta)
    assert net.theta.tobytes() == ref.theta.tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(NETS))
def test_every_x_form_equals_full_path(name, dtype):
    net = make(name, dtype)
    y_id = next(iter(y_forms(net).values()))
    for form, fx in x_forms(net).items():
        check_same(name, dtype, fx, y_id)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(NETS))
def test_every_y_form_equals_full_path(name, dtype):
    net = make(name, dtype)
    for form, fy in y_forms(net).items():
        check_same(name, dtype, lambda x: x.astype(net.dtype), fy)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(NETS))
def test_row_x_with_its_targets(name, dtype):
    """A (1, n) x with a (1, m) target, a (1,) class index or a (1,) value."""
    net = make(name, dtype)
    if net.output == "softmax":
        m = net.sizes[-1]
        forms = [lambda c: np.eye(m)[c][None, :], lambda c: np.array([c])]
    else:
        forms = [lambda t: np.array([[t]]), lambda t: np.array([t])]
    for fy in forms:
        check_same(name, dtype, lambda x: x, fy, row=True)
        check_same(name, dtype, lambda x: x.tolist(), fy, row=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [
    {"lr": np.float64(0.05)}, {"lr": np.float32(0.05)}, {"lr": 1}, {"lr": np.int64(1)},
    {"l2": 0}, {"l2": np.float64(0)}, {"l2": np.float32(0)}, {"l2": -0.0},
    {"batch_size": np.int64(1)}], ids=repr)
def test_option_forms_equal_full_path(dtype, kwargs):
    for name in NETS:
        net = make(name, dtype)
        check_same(name, dtype, lambda x: x.tolist(), next(iter(y_forms(net).values())), kwargs)


DEFAULT, ROW_TARGET = object(), object()  # placeholders in bad_calls


def bad_calls(net):
    """(x, y, kwargs) the full path refuses, each in a form the fast path handles."""
    n, m = net.sizes[0], net.sizes[-1]
    x = [0.5] * n
    calls = [([np.nan] + x[1:], DEFAULT, {}), (np.array([np.inf] + x[1:]), DEFAULT, {}),
             (x + [0.5], DEFAULT, {}), (x[:-1], DEFAULT, {}), ([x, [0.5]], DEFAULT, {}),
             (x, [[1.0], [0.0, 1.0]], {}),
             (np.array([x, x]), DEFAULT, {}), (np.array(x)[None, :], ROW_TARGET, {}),
             (x, DEFAULT, {"lr": -0.1}), (x, DEFAULT, {"lr": np.float64(np.nan)}),
             (x, DEFAULT, {"lr": np.inf}), (x, DEFAULT, {"lr": True}), (x, DEFAULT, {"lr": 0}),
             (x, DEFAULT, {"lr": np.float32(0.0)}),
             (x, DEFAULT, {"l2": False}), (x, DEFAULT, {"l2": -0.1}), (x, DEFAULT, {"batch_size": True}),
             (x, DEFAULT, {"batch_size": 0})]
    if net.dtype == np.float32:  # finite in float64, not in float32
        calls += [([1e39] + x[1:], DEFAULT, {}), (np.array([1e39] + x[1:]), DEFAULT, {}),
                  (x, DEFAULT, {"lr": 1e-50}), (x, DEFAULT, {"lr": 1e39})]
    if net.output == "softmax":
        calls += [(x, c, {}) for c in (m, -1, np.int64(m), 1.0, np.float64(1.0), True, 2**70,
                                       np.array([0, 1]), np.array(1.5), "1", [0.5] * m,
                                       [1.0] + [0.0] * m, np.full(m, np.nan))]
    else:
        calls += [(x, t, {}) for t in (np.nan, np.inf, [0.5, 0.5], np.array([[0.5], [0.5]]),
                                       "0.5", None)]
        if net.loss_name == "cross_entropy":
            calls += [(x, t, {}) for t in (2.0, -1, np.float64(1.5), 2**70)]
        calls += [(np.array(x)[None, :], 0.5, {})]  # a scalar target needs a 1-D x
    return calls


def raised(call):
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the error itself is compared
        return type(exc), str(exc)
    return None


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(NETS))
def test_refusals_unchanged(name, dtype):
    net = make(name, dtype)
    ref = net.copy()
    default_y = examples(net)[0][1]
    for x, y, kwargs in bad_calls(net):
        if y is DEFAULT:
            y = default_y
        elif y is ROW_TARGET:
            y = np.eye(net.sizes[-1])[0] if net.output == "softmax" else np.array([0.5, 0.5])
        kwargs = {"lr": 0.05, **kwargs}
        before = net.theta.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no overflow warning from a cast either
            got = raised(lambda: net.partial_fit(x, y, **kwargs))
        want = raised(lambda: ref._partial_fit(x, y, kwargs["lr"], kwargs.get("batch_size", 1),
                                               kwargs.get("l2", 0.0)))
        assert want is not None, (x, y, kwargs)
        assert got == want, (x, y, kwargs)
        assert net.theta.tobytes() == before.tobytes()


def test_busy_network_refuses_every_form():
    net = make("softmax", "float64")
    held, release = threading.Event(), threading.Event()

    def hold():
        with net._train_lock:
            held.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    held.wait(10)
    try:
        for x, y in (([0.1] * 4, 1), (np.zeros((1, 4)), np.array([2]))):
            with pytest.raises(RuntimeError, match="being trained by another thread"):
                net.partial_fit(x, y)
    finally:
        release.set()
        t.join()


def predict_forms(net):
    dt = net.dtype
    other = np.float32 if dt == np.float64 else np.float64
    return {"1-D": (lambda x: x.astype(dt), False), "(1, n)": (lambda x: x.astype(dt)[None, :], True),
            "list": (lambda x: x.tolist(), False), "list of a row": (lambda x: [x.tolist()], True),
            "mixed list": (mixed_list, False), "tuple": (lambda x: tuple(x.tolist()), False),
            "float64": (lambda x: x, False), "other dtype": (lambda x: x.astype(other), False),
            "strided view": (lambda x: np.asfortranarray(np.tile(x.astype(dt), (2, 1)))[1], False),
            "int": (lambda x: np.round(3 * x).astype(np.int64), False)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(NETS))
def test_predict_row_forms_equal_full_path(name, dtype, monkeypatch):
    net = make(name, dtype)
    net.fit(np.random.default_rng(0).standard_normal((8, net.sizes[0])),
            examples(net, 8)[0][1] * np.ones(8, dtype=int if net.output == "softmax" else float),
            epochs=1)
    rows = np.random.default_rng(5).standard_normal((4, net.sizes[0]))
    X = {form: [f(x) for x in rows] for form, (f, _) in predict_forms(net).items()}
    want = {form: [net.predict(np.vstack([np.asarray(x, np.float64).reshape(1, -1)] * 2)
                               .astype(net.dtype))[0] for x in xs] for form, xs in X.items()}
    monkeypatch.setattr(kernels, "predict", None)  # the full path's kernel: unusable now
    for form, (_, two_d) in predict_forms(net).items():
        for x, w in zip(X[form], want[form]):
            got = net.predict(x)
            assert got.dtype == net.dtype
            assert got.shape == ((1, net.sizes[-1]) if two_d else (net.sizes[-1],))
            assert got.reshape(-1).tobytes() == w.tobytes(), form
    a = net.predict(rows[0])
    b = net.predict(rows[0])
    a[:] = -1  # the caller's own array: the next call does not share it
    assert a is not b and np.all(b != -1)


@pytest.mark.parametrize("dtype", DTYPES)
def test_predict_refusals_unchanged(dtype):
    net = make("softmax", dtype)
    n = net.sizes[0]
    bad = [[np.nan] * n, np.array([np.inf] * n), [0.5] * (n + 1), np.zeros((1, n + 1)),
           ["a"] * n, [[0.5] * n, [0.5]], np.zeros((1, 1, n)), np.zeros((0, n)), np.float64(1.0),
           [0.5] * (n - 1) + ["0.5"], [0.5] * (n - 1) + [None], [0.5] * (n - 1) + [1j],
           [0.5] * (n - 1) + [10 ** 400], [0.5] * (n - 1) + [b"1"], [Decimal("nan")] * n]
    if dtype == "float32":  # finite in float64 only
        bad += [[1e39] * n, np.full((1, n), -1e39)]
    for x in bad:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = raised(lambda: net.predict(x))
        # the full path's answer for the same x, reached with the fast path switched off
        fast = fastbp._online.predict
        fastbp._online.predict = lambda net, X: None
        try:
            want = raised(lambda: net.predict(x))
        finally:
            fastbp._online.predict = fast
        assert want is not None and got == want, x


@pytest.mark.parametrize("dtype", DTYPES)
def test_lists_beyond_exact_doubles_take_the_full_path_with_its_result(dtype):
    # ints beyond 2**53 (and 2**64: NumPy makes an object array of those) into a list x:
    # the fast path packs float64, which would round such an int twice into float32, so it
    # hands them to the full path; every answer equals that of the same row as an array
    net = fastbp.Network([3, 2], output="identity", dtype=dtype, seed=1)  # no saturation
    n = net.sizes[0]
    # 2**54 + 2**30 + 1 rounds to float32 directly as 2**54 + 2**31, through float64 (a tie
    # then) as 2**54; a list of ints only is an int64 array on the full path
    for big in (2 ** 53 + 1, 2 ** 54 + 2 ** 30 + 1, 2 ** 60 + 3, -(2 ** 63), 2 ** 64 + 1, 2 ** 70):
        for x in ([0.25] * (n - 1) + [big], [1] * (n - 1) + [big]):
            want = net.predict(np.array([x, x]))[0]
            assert net.predict(x).tobytes() == want.tobytes(), (big, x)


def test_object_arrays_are_read_by_float():
    # the full path reads an object array entry by entry with float() (Decimal, Fraction,
    # ints beyond int64), as a list on the fast path and fastbp.river's features; strings,
    # None and complex numbers are refused, naming the value
    net = make("softmax", "float64")
    rows = np.random.default_rng(2).standard_normal((5, net.sizes[0]))
    obj = np.array([[Fraction(v) for v in r] for r in rows], dtype=object)
    np.testing.assert_array_equal(net.predict(obj), net.predict(rows))
    a, b = net.copy(), net.copy()
    a.fit(obj, [0, 1, 2, 0, 1], epochs=1, seed=0)
    b.fit(rows, [0, 1, 2, 0, 1], epochs=1, seed=0)
    assert a.theta.tobytes() == b.theta.tobytes()
    for bad in ("0.5", None, 1j, b"1"):
        x = obj.copy()
        x[1, 2] = bad
        with pytest.raises(TypeError, match=r"X must hold real numbers \(float or int\), got .* in "
                                             r"an array of dtype object"):
            net.predict(x)


@pytest.mark.parametrize("dtype", DTYPES)
def test_fast_path_flushes_subnormals_as_the_full_path_does(dtype):
    # the full path (an epoch pass) flushes subnormals to zero (fastbp._fpenv): the fast
    # path's kernel does too, or a network initialised at zero took weights of 5e-41
    # (float32) from one example where partial_fit's full path and fit leave 0
    tiny = np.finfo(dtype).tiny  # the smallest normal number: tiny * tiny is subnormal
    x, y = np.full(2, np.sqrt(tiny), dtype), np.full(1, np.sqrt(tiny), dtype)

    def zeros():
        return fastbp.Network([2, 1], output="identity", init="zeros", dtype=dtype, seed=0)

    fast, full, fitted = zeros(), zeros(), zeros()
    no_full_path(fast)
    fast.partial_fit(x, y, lr=0.5)
    full._partial_fit(x, y, 0.5, 1, 0.0)
    fitted.fit(x[None], y[None], epochs=1, lr=0.5, shuffle=False)
    assert fast.theta.tobytes() == full.theta.tobytes() == fitted.theta.tobytes()
    assert fast.theta[2] > 0  # the bias moved (a normal number) ...
    if fastbp._fpenv.X86 and not fastbp._jit.JIT_DISABLED:
        assert not fast.weights[0].any()  # ... the subnormal weight steps were flushed
