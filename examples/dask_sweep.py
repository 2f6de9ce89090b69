"""A learning-rate x seed x l2 sweep of 64-32-10 networks on scikit-learn's digits, on Dask.

Each task trains a block of members as one fastbp Population; the data goes to every worker
once. Without --scheduler a LocalCluster of two one-thread worker processes is started and
closed here; with --scheduler tcp://host:8786 the sweep runs on that cluster.

Needs scikit-learn and the dask extra: pip install 'fastbp[dask,examples]'.
Run: python examples/dask_sweep.py [--epochs 5] [--scheduler ADDRESS] [--save DIR]
"""
import argparse

import numpy as np

import fastbp.dask


def load(seed=0):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=seed, stratify=y)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--scheduler", default=None, help="a scheduler address (default: a "
                   "LocalCluster of 2 worker processes started here)")
    p.add_argument("--members-per-task", type=int, default=8)
    p.add_argument("--save", default=None, help="save the 3 best networks in this folder")
    args = p.parse_args(argv)

    Xtr, Xte, ytr, yte = load()
    configs = fastbp.dask.grid(lr=list(np.geomspace(0.01, 0.5, 6)), seed=range(3),
                               l2=[0.0, 1e-4])
    result = fastbp.dask.sweep(
        configs, Xtr, ytr, Xte, yte, client=args.scheduler, sizes=[64, 32, 10],
        hidden="tanh", output="softmax", epochs=args.epochs, batch_size=1,
        members_per_task=args.members_per_task, warm=True,
        cluster={"n_workers": 2, "threads_per_worker": 1})
    table = result.table.sort_values("val_loss")
    print(f"{len(table)} configs in {result.stats['tasks']} tasks, "
          f"{result.stats['seconds']:.1f} s")
    print(table[["lr", "seed", "l2", "train_loss", "val_loss", "val_accuracy", "task",
                 "seconds"]].head(5).to_string(index=False))
    if args.save:
        print("saved", result.save_best(args.save, k=3))
    return result


if __name__ == "__main__":
    main()
