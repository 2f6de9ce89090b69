"""The ``fastbp`` command.

``fastbp demo`` trains a network on a built-in synthetic data set and reports per-epoch
loss, test accuracy, and the samples/second of fastbp and of the NumPy baseline on the
same data. ``fastbp bench`` times fastbp, the NumPy baseline, JAX and PyTorch (when
installed) side by side, single-threaded.
"""
import argparse
import os
import subprocess
import sys
import time

#: environment that keeps BLAS, OpenMP and XLA to one thread, for single-core comparisons
SINGLE_THREAD_ENV = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}

import numpy as np


def _sizes(text):
    try:
        sizes = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes must be comma-separated integers such as "
                                         f"64,32,10, got {text!r}") from None
    return sizes


def demo(args, out=None):
    from . import baseline, datasets
    from .network import Network

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


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return bench(argv[1:])
    parser = argparse.ArgumentParser(prog="fastbp", description="fastbp: fast per-example SGD for small networks")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bench", add_help=False,
                   help="time fastbp against the NumPy baseline, JAX and PyTorch "
                        "(fastbp bench --help)")
    d = sub.add_parser("demo", help="train on built-in synthetic data; compare with the baseline")
    d.add_argument("--sizes", type=_sizes, default=[64, 32, 10],
                   help="layer sizes, input first (default 64,32,10)")
    d.add_argument("--hidden", default="sigmoid", help="hidden activation (default sigmoid)")
    d.add_argument("--epochs", type=int, default=10)
    d.add_argument("--lr", type=float, default=0.1)
    d.add_argument("--batch-size", type=int, default=1)
    d.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    d.add_argument("--n-samples", type=int, default=6000)
    d.add_argument("--baseline-samples", type=int, default=2000,
                   help="rows timed for the (slow) NumPy baseline (default 2000)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--plot", default="fastbp-demo-learning-curve.png",
                   help="PNG file for the learning curve ('' for none; needs matplotlib)")
    args = parser.parse_args(argv)
    if args.command == "demo":
        if len(args.sizes) < 2 or args.sizes[-1] < 2:
            parser.error(f"--sizes needs at least 2 layers and >= 2 output classes, "
                         f"got {args.sizes}")
        try:
            return demo(args)
        except (ValueError, TypeError) as exc:
            parser.error(str(exc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
