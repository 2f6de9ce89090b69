"""Overfitting, seen and caught: a big network on a small data set.

200 training examples of a noisy 10-class problem and a 64-256-10 network: the training
loss keeps falling while the validation loss turns up after a few epochs. Early stopping
watches the validation loss and keeps the parameters of its best epoch.

Run: python examples/overfitting.py [--plot overfitting.png]
"""
import argparse

import numpy as np

import fastbp
from fastbp.datasets import make_prototypes


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--plot", default="", help="write the learning curves to this PNG")
    args = p.parse_args(argv)

    X, y = make_prototypes(n_samples=1200, n_features=64, n_classes=10, noise=1.0, seed=3)
    Xtr, ytr, Xval, yval = X[:200], y[:200], X[200:], y[200:]
    kw = dict(hidden="tanh", output="softmax", seed=0)

    free = fastbp.Network([64, 256, 10], **kw)
    h = free.fit(Xtr, ytr, epochs=60, lr=0.01, validation_data=(Xval, yval), seed=1)
    turn = int(np.argmin(h.val_loss)) + 1
    print(f"without early stopping: training loss {h.loss[0]:.3f} -> {h.loss[-1]:.4f}, "
          f"validation loss {h.val_loss[0]:.3f} -> lowest {min(h.val_loss):.3f} "
          f"(epoch {turn}) -> {h.val_loss[-1]:.3f} at epoch {len(h)}")
    print(f"  validation accuracy at the end: {h.val_accuracy[-1]:.1%}")

    stopped = fastbp.Network([64, 256, 10], **kw)
    hs = stopped.fit(Xtr, ytr, epochs=60, lr=0.01, validation_data=(Xval, yval), seed=1,
                     early_stopping=True, patience=5)
    print(f"with early stopping (patience 5): stopped after epoch {len(hs)}, kept epoch "
          f"{hs.best_epoch}: validation loss {stopped.loss(Xval, yval):.3f}, accuracy "
          f"{np.mean(stopped.predict(Xval).argmax(1) == yval):.1%}")
    if args.plot:
        h.plot(args.plot, title="64-256-10 on 200 examples: overfitting")
        print(f"learning curves written to {args.plot}")
    return h, hs


if __name__ == "__main__":
    main()
