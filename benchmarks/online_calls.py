"""The cost of one ``Network.partial_fit`` / one-row ``predict`` call, for every natural form.

Each form is timed next to the fast form (1-D arrays of the network's dtype, python float
lr): µs per call and the ratio to the fast form, for a tiny 2-4-1 (sigmoid output, one unit)
and a small 64-32-10 (softmax) network, float64 and float32. Best of ``--repeat`` runs of
``--calls`` calls each (the network trains on one example over and over at a small lr).

    taskset -c 1 python benchmarks/online_calls.py [--repeat 7] [--calls 3000]
"""
import argparse
import time

import numpy as np

import fastbp

SHAPES = {"tiny 2-4-1": ([2, 4, 1], "sigmoid"), "small 64-32-10": ([64, 32, 10], "softmax")}


def fit_forms(net, rng):
    """(name, x, y, kwargs) of the partial_fit forms for ``net``; the first is the fast one."""
    n_in, n_out = net.sizes[0], net.sizes[-1]
    dt = net.dtype
    x64 = rng.standard_normal(n_in)
    x = x64.astype(dt)
    wide = np.asfortranarray(np.tile(x64.astype(dt), (3, 1)))  # rows are strided views
    if n_out == 1:
        y, label = np.array([1.0], dt), "y 1.0"
        targets = [("scalar y (float)", 1.0), ("scalar y (int)", 1),
                   ("scalar y (np.float64)", np.float64(1.0))]
    else:
        y, label = np.eye(n_out, dtype=dt)[3], "one-hot y"
        targets = [("class index (int)", 3), ("class index (np.int64)", np.int64(3)),
                   ("class index (0-d array)", np.array(3))]
    forms = [(f"fast: x, {label} 1-D {dt.name}, lr float", x, y, {})]
    forms += [(name, x, t, {}) for name, t in targets]
    forms += [
        ("lr np.float64", x, y, {"lr": np.float64(0.01)}),
        ("lr np.float32", x, y, {"lr": np.float32(0.01)}),
        ("l2=0 (int)", x, y, {"l2": 0}),
        ("l2=np.float64(0)", x, y, {"l2": np.float64(0.0)}),
        ("x list", x64.tolist(), y, {}),
        ("x (1, n), y (1, m)", x[None, :], y[None, :], {}),
        ("x non-contiguous view", wide[1], y, {}),
    ]
    if dt == np.float32:
        forms.append(("x, y float64 into float32", x64, y.astype(np.float64), {}))
    return forms


def predict_forms(net, rng):
    """(name, x) of the one-row predict forms; the first is the 1-D array of net's dtype."""
    x64 = rng.standard_normal(net.sizes[0])
    x = x64.astype(net.dtype)
    forms = [(f"x 1-D {net.dtype.name}", x), ("x (1, n)", x[None, :]), ("x list", x64.tolist()),
             ("x non-contiguous view", np.asfortranarray(np.tile(x, (3, 1)))[1])]
    if net.dtype == np.float32:
        forms.append(("x float64 into float32", x64))
    return forms


def per_call(call, calls, repeat):
    """Best µs per call of ``call()`` over ``repeat`` timed loops of ``calls`` calls."""
    call()  # compile / warm
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, time.perf_counter() - t0)
    return best / calls * 1e6


def measure(calls=3000, repeat=7):
    """Rows (network, dtype, kind, form, µs, ratio to the kind's first form)."""
    rows = []
    for shape_name, (sizes, output) in SHAPES.items():
        for dtype in ("float64", "float32"):
            net = fastbp.Network(sizes, hidden="tanh", output=output, dtype=dtype, seed=0)
            rng = np.random.default_rng(1)
            fast = None
            for name, x, y, kw in fit_forms(net, rng):
                kw = {"lr": 0.01, **kw}
                us = per_call(lambda: net.partial_fit(x, y, **kw), calls, repeat)
                fast = fast or us
                rows.append((shape_name, dtype, "partial_fit", name, us, us / fast))
            fast = None
            for name, x in predict_forms(net, rng):
                us = per_call(lambda: net.predict(x), calls, repeat)
                fast = fast or us
                rows.append((shape_name, dtype, "predict", name, us, us / fast))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows = measure(args.calls, args.repeat)
    print("| network | dtype | call | form | µs | / fast |")
    print("| --- | --- | --- | --- | ---: | ---: |")
    for shape, dtype, kind, form, us, ratio in rows:
        print(f"| {shape} | {dtype} | {kind} | {form} | {us:.2f} | {ratio:.2f} |")
    worst = max(r[5] for r in rows)
    print(f"\nworst ratio to the fast form: {worst:.2f}")


if __name__ == "__main__":
    main()
