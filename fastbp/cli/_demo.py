"""``fastbp demo`` and ``fastbp bench``: built-in synthetic data and the speed comparison."""
import os
import subprocess
import sys
import time

#: environment that keeps BLAS, OpenMP and XLA to one thread, for single-core comparisons
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false",
}

import numpy as np


def demo(args, out=None):
    from .. import baseline, datasets
    from ..network import Network

    out = sys.stdout if out is None else out

    def say(*parts):
        print(*parts, file=out, flush=True)

    sizes = args.sizes
    n_classes = sizes[-1]
    X, y = datasets.make_prototypes(n_samples=args.n_samples, n_features=sizes[0],
                                    n_classes=n_classes, seed=args.seed)
    n_test = max(1, len(X) // 5)
    Xtr, ytr, Xte, yte = X[n_test:], y[n_test:], X[:n_test], y[:n_test]
    say(f"fastbp demo: {len(Xtr)} training / {n_test} test examples, {sizes[0]} features, "
        f"{n_classes} classes (synthetic noisy prototypes, seed {args.seed})")
    net = Network(sizes, hidden=args.hidden, output="softmax", dtype=args.dtype, seed=args.seed)
    say(repr(net))

    t0 = time.perf_counter()
    warm = net.copy()
    warm.fit(Xtr[:2], ytr[:2], epochs=1, lr=args.lr, batch_size=args.batch_size)
    say(f"kernels ready in {time.perf_counter() - t0:.2f} s (compiled on the first run, "
        f"loaded from numba's cache afterwards)")

    say(f"training: {args.epochs} epochs of SGD, lr {args.lr}, batch size {args.batch_size}; "
        f"the test split is the validation data")

    def report(_, e, h):
        say(f"  epoch {e:3d}  train loss {h.loss[-1]:.5f}  test loss {h.val_loss[-1]:.5f}  "
            f"test accuracy {h.val_accuracy[-1]:6.2%}  {h.samples_per_second[-1]:>12,.0f} "
            f"samples/s")

    hist = net.fit(Xtr, ytr, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                   validation_data=(Xte, yte), callback=report, progress=False)
    acc = float(np.mean(net.predict(Xte).argmax(axis=1) == yte))
    say(f"final test accuracy: {acc:.2%}  (test loss {net.loss(Xte, yte):.5f})")
    if args.plot:
        try:
            hist.plot(args.plot, title=f"fastbp demo: {'-'.join(map(str, sizes))}")
            say(f"learning curve written to {args.plot}")
        except ImportError:
            say("learning curve not written: matplotlib is not installed "
                "(pip install 'fastbp[plot]')")

    # speed, side by side on the same data and the same starting theta
    n_time = min(len(Xtr), args.baseline_samples)
    fast = Network(sizes, hidden=args.hidden, output="softmax", dtype=args.dtype, seed=args.seed)
    base = baseline.BaselineNetwork(sizes, hidden=args.hidden, output="softmax",
                                    dtype=args.dtype, seed=args.seed)
    reps = 5
    t_fast = min(baseline.time_epoch(fast, Xtr, ytr, args.lr, args.batch_size)
                 for _ in range(reps)) / len(Xtr)
    t_base = baseline.time_epoch(base, Xtr[:n_time], ytr[:n_time], args.lr,
                                 args.batch_size) / n_time
    say(f"speed ({args.dtype}, batch size {args.batch_size}, one core):")
    say(f"  fastbp          {1 / t_fast:>12,.0f} samples/s  ({t_fast * 1e6:8.2f} us/example, "
        f"best of {reps} epochs of {len(Xtr)})")
    say(f"  NumPy baseline  {1 / t_base:>12,.0f} samples/s  ({t_base * 1e6:8.2f} us/example, "
        f"one epoch of {n_time})")
    say(f"  fastbp is {t_base / t_fast:.1f}x the baseline")
    return 0


def bench(argv):
    """Run ``fastbp.bench`` in a child process whose BLAS/XLA pools have one thread (the
    thread counts are read when those libraries load, so they must be set before)."""
    env = dict(os.environ, **SINGLE_THREAD_ENV)
    return subprocess.call([sys.executable, "-m", "fastbp.bench", *argv], env=env)
