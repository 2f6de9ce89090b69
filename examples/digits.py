"""Handwritten digits (scikit-learn's bundled 8x8 digits, no download): fastbp against
scikit-learn's MLPClassifier with the same architecture, optimiser and number of epochs.

Both train a 64-64-10 network (logistic hidden units, softmax output, cross-entropy) by
per-example SGD with Nesterov momentum 0.9, constant learning rate, no L2, for the same
number of epochs, and report test accuracy and training time.

Needs scikit-learn: pip install 'fastbp[examples]'.
Run: python examples/digits.py [--epochs 30]
"""
import argparse
import time
import warnings

import numpy as np

import fastbp


def load(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)


def run_fastbp(Xtr, ytr, Xte, yte, epochs, lr, batch_size):
    net = fastbp.Network([64, 64, 10], hidden="sigmoid", output="softmax", seed=0)
    net.fit(Xtr[:2], ytr[:2], epochs=1)  # load the compiled kernels before timing
    net = fastbp.Network([64, 64, 10], hidden="sigmoid", output="softmax", seed=0)
    t0 = time.perf_counter()
    net.fit(Xtr, ytr, epochs=epochs, lr=lr, batch_size=batch_size, optimizer="nesterov",
            momentum=0.9, seed=0)
    seconds = time.perf_counter() - t0
    return float(np.mean(net.predict(Xte).argmax(1) == yte)), seconds


def run_sklearn(Xtr, ytr, Xte, yte, epochs, lr, batch_size):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=(64,), activation="logistic", solver="sgd",
                        learning_rate="constant", learning_rate_init=lr, momentum=0.9,
                        nesterovs_momentum=True, alpha=0.0, batch_size=batch_size,
                        max_iter=epochs, shuffle=True, tol=0.0, n_iter_no_change=epochs + 1,
                        random_state=0)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ytr)
    seconds = time.perf_counter() - t0
    return float(clf.score(Xte, yte)), seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch-size", type=int, default=1)
    args = p.parse_args(argv)
    Xtr, Xte, ytr, yte = load()
    print(f"digits: {len(Xtr)} training / {len(Xte)} test images; 64-64-10, {args.epochs} "
          f"epochs, batch size {args.batch_size}, lr {args.lr}, Nesterov momentum 0.9")
    results = {}
    for name, fn in (("fastbp", run_fastbp), ("scikit-learn MLPClassifier", run_sklearn)):
        acc, sec = fn(Xtr, ytr, Xte, yte, args.epochs, args.lr, args.batch_size)
        results[name] = (acc, sec)
        print(f"  {name:<28} test accuracy {acc:6.2%}   training time {sec:8.3f} s")
    (fa, fs), (sa, ss) = results.values()
    print(f"  fastbp trained {ss / fs:.0f}x faster")
    return results


if __name__ == "__main__":
    main()
