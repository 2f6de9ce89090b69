"""Compare two source trees of fastbp (say, before and after a refactor) in one run.

    taskset -c 1 python benchmarks/compare_trees.py speed before=/path/a after=/path/b
    python benchmarks/compare_trees.py results before=/path/a after=/path/b

``speed`` times one epoch of ``Network.fit`` (public API only, so any two versions can be
compared) for every case below, in one child process per tree, alternating the trees
round by round and keeping each configuration's best time; it prints a Markdown table of
µs per example. ``results`` trains the same seeded networks in both trees over every
activation x output/loss x optimiser x batch size x dropout x l2 combination and reports
how many parameter vectors are byte-identical and the largest difference of the others.
"""
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time
import numpy as np
import fastbp

mode, rounds = sys.argv[1], int(sys.argv[2])
CASES = {"tiny": ((2, 4, 1), "sigmoid", 200_000), "small": ((64, 32, 10), "softmax", 40_000),
         "medium": ((784, 100, 10), "softmax", 4000),
         "large": ((784, 512, 512, 10), "softmax", 400)}


def data(sizes, out, n, dtype):
    rng = np.random.default_rng(0)
    X = rng.random((n, sizes[0])).astype(dtype)
    if out == "softmax":
        Y = np.eye(sizes[-1], dtype=dtype)[rng.integers(0, sizes[-1], n)]
    else:
        Y = ((X[:, 0] > 0.5) ^ (X[:, 1] > 0.5)).astype(dtype)[:, None]
    return X, Y


def configs():
    for case in CASES:
        for dtype in ("float64", "float32"):
            for bs in (1, 32):
                yield case, dtype, dict(batch_size=bs)
            yield case, dtype, dict(batch_size=1, optimizer="adam")
            yield case, dtype, dict(batch_size=1, dropout=0.2)
            yield case, dtype, dict(batch_size=32, optimizer="adam")
            if case in ("tiny", "small"):
                yield case, dtype, dict(batch_size=1, l2=1e-4)


if mode == "speed":
    best = {}
    prepared = []
    for case, dtype, kw in configs():
        sizes, out, n = CASES[case]
        if kw.get("batch_size", 1) > 1 or "optimizer" in kw or "dropout" in kw:
            n = max(n // 4, 400)
        X, Y = data(sizes, out, n, dtype)
        net = fastbp.Network(list(sizes), hidden="sigmoid", output=out, dtype=dtype, seed=0)
        theta0 = net.theta.copy()
        net.fit(X[:64], Y[:64], epochs=1, lr=0.01, shuffle=False, progress=False, **kw)
        prepared.append((f"{case}|{dtype}|{json.dumps(kw, sort_keys=True)}", net, theta0, X, Y,
                         kw))
    for r in range(rounds):
        for key, net, theta0, X, Y, kw in prepared:
            net.theta = theta0
            t0 = time.perf_counter()
            net.fit(X, Y, epochs=1, lr=0.01, shuffle=False, progress=False, **kw)
            t = (time.perf_counter() - t0) / X.shape[0] * 1e6
            best[key] = min(best.get(key, float("inf")), t)
    print(json.dumps(best))
else:
    import itertools
    out = {}
    hidden = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "identity"]
    outputs = [("sigmoid", "cross_entropy"), ("sigmoid", "mse"), ("softmax", "cross_entropy"),
               ("softmax", "mse"), ("identity", "mse"), ("tanh", "mse")]
    rng = np.random.default_rng(1)
    for (h, (o, l)), sizes, dtype in itertools.product(
            itertools.product(hidden, outputs), [(5, 4, 3), (5, 7, 4, 3)],
            ("float64", "float32")):
        X = rng.normal(size=(37, sizes[0])).astype(dtype)
        if o == "softmax":
            Y = np.eye(sizes[-1])[rng.integers(0, sizes[-1], 37)]
        elif o == "sigmoid":
            Y = rng.random((37, sizes[-1]))
        else:
            Y = rng.uniform(-0.9, 0.9, (37, sizes[-1]))
        for opt, bs, drop, l2 in itertools.product(("sgd", "momentum", "nesterov", "adam"),
                                                   (1, 6), (None, 0.25), (0.0, 1e-3)):
            net = fastbp.Network(list(sizes), hidden=h, output=o, loss=l, dtype=dtype, seed=3)
            try:
                net.fit(X, Y, epochs=3, lr=0.01, batch_size=bs, optimizer=opt, dropout=drop,
                        l2=l2, seed=4, progress=False)
            except fastbp.DivergenceError as exc:  # compared like any other result
                net.theta[:] = exc.epoch
            out[f"{h}|{o}|{l}|{sizes}|{dtype}|{opt}|{bs}|{drop}|{l2}"] = net.theta.astype(
                np.float64).tolist()
    print(json.dumps(out))
"""


def run_child(path, mode, rounds):
    env = dict(os.environ, PYTHONPATH=path)
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(rounds)], env=env, cwd="/",
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit(f"child for {path} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv):
    mode, trees = argv[0], dict(a.split("=", 1) for a in argv[1:])
    names = list(trees)
    if mode == "speed":
        best = {name: {} for name in names}
        for r in range(3):  # alternate the trees; keep each configuration's best
            for name in (names if r % 2 == 0 else names[::-1]):
                for key, t in run_child(trees[name], "speed", 3).items():
                    best[name][key] = min(best[name].get(key, float("inf")), t)
        print("| case | dtype | options | " + " | ".join(f"{n} µs/ex" for n in names)
              + f" | {names[-1]} / {names[0]} |")
        print("|---" * (4 + len(names)) + "|")
        for key in best[names[0]]:
            case, dtype, kw = key.split("|")
            ts = [best[n][key] for n in names]
            print(f"| {case} | {dtype} | {kw} | " + " | ".join(f"{t:.3f}" for t in ts)
                  + f" | {ts[-1] / ts[0]:.2f} |")
    else:
        import numpy as np

        res = {name: run_child(trees[name], "results", 1) for name in names}
        a, b = res[names[0]], res[names[1]]
        same, worst, diffs = 0, 0.0, {}
        for key in a:
            x, y = np.array(a[key]), np.array(b[key])
            if np.array_equal(x, y):
                same += 1
            else:
                d = float(np.abs(x - y).max() / max(1.0, np.abs(x).max()))
                diffs[key] = d
                worst = max(worst, d)
        print(f"{same} of {len(a)} parameter vectors byte-identical; worst relative difference "
              f"of the rest {worst:.2e}")
        groups = {}
        for key, d in diffs.items():
            h, o, l, sizes, dtype, opt, bs, drop, l2 = key.split("|")
            g = (dtype, opt, bs, drop, l2)
            groups[g] = max(groups.get(g, 0.0), d)
        for g, d in sorted(groups.items()):
            print("  differs: dtype %s optimizer %s batch %s dropout %s l2 %s: %.2e" % (*g, d))


if __name__ == "__main__":
    main(sys.argv[1:])
