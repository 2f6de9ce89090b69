"""The same 64-configuration sweep three ways, the Dask overheads, warm workers.

64-32-10 (tanh, softmax) on scikit-learn's digits (1347 training rows), 16 lrs x 4 seeds,
--epochs passes of per-example SGD: (a) serial Network.fit one after another, (b) one
Population in one process (1 thread, then numba's pool), (c) fastbp.dask.sweep on
LocalCluster(n_workers=2, threads_per_worker=1) for several members_per_task. Then a no-op
task's round trip and throughput, bytes per task, and the first task's latency on a fresh
cluster with and without WarmupPlugin, with a cold (fresh NUMBA_CACHE_DIR) and a warm cache.

Run: PYTHONPATH=. python benchmarks/dask_sweep.py [--epochs 3] [--repeat 3] [--no-cold]
"""
import argparse
import os
import tempfile
import time

import numpy as np

import fastbp
import fastbp.dask

SIZES = [64, 32, 10]
ARCH = dict(hidden="tanh", output="softmax")


def load():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)


def best_of(repeat, fn):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), max(times), out


def cluster(**kw):
    import distributed
    lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0", silence_logs=40, **kw)
    return lc, distributed.Client(lc)


def local(configs, Xtr, ytr, epochs, repeat):
    def serial():
        for c in configs:
            fastbp.Network(SIZES, **ARCH, seed=c["seed"]).fit(Xtr, ytr, lr=c["lr"],
                                                               epochs=epochs)

    def population(n_threads):
        pop = fastbp.Population(SIZES, len(configs), **ARCH, seeds=[c["seed"] for c in configs])
        pop.fit(Xtr, ytr, lr=np.array([c["lr"] for c in configs]), epochs=epochs,
                n_threads=n_threads)

    a = best_of(repeat, serial)
    print(f"(a) serial Network.fit x{len(configs)}:      best {a[0]:.2f} s  (worst {a[1]:.2f})")
    for n in (1, None):
        b = best_of(repeat, lambda: population(n))
        print(f"(b) one Population, n_threads={n}: best {b[0]:.2f} s  (worst {b[1]:.2f})")
    return a[0]


def distributed_sweep(configs, Xtr, ytr, Xte, yte, epochs, repeat, serial_s):
    lc, client = cluster()
    try:
        client.register_plugin(fastbp.dask.WarmupPlugin(paths=("population", "predict")))
        noop = best_of(1, lambda: [client.submit(int, i, pure=False).result()
                                   for i in range(200)])[0] / 200
        many = best_of(1, lambda: client.gather(client.map(int, range(2000), pure=False)))[0]
        print(f"no-op task: round trip {noop * 1e3:.2f} ms one at a time; 2000 at once "
              f"{many:.2f} s = {2000 / many:.0f} tasks/s")
        for k in (64, 32, 16, 8, 4, 2):
            runs = [fastbp.dask.sweep(configs, Xtr, ytr, Xte, yte, client=client,
                                      members_per_task=k, epochs=epochs, **ARCH, sizes=SIZES)
                    for _ in range(repeat)]
            r = min(runs, key=lambda r: r.stats["seconds"])
            walls = [x.stats["seconds"] for x in runs]
            per_task = r.table.groupby("task")["seconds"].first()
            work = per_task.sum()
            tasks = r.stats["tasks"]
            ideal = max(work / 2, per_task.max())
            over = (min(walls) - ideal) / tasks
            print(f"(c) sweep members_per_task={k:2d}: {tasks:2d} tasks, wall best "
                  f"{min(walls):.2f} s (worst {max(walls):.2f}), training in tasks "
                  f"{work:.2f} s, wall - ideal = {min(walls) - ideal:+.2f} s = "
                  f"{over * 1e3:+.0f} ms/task; {serial_s / min(walls):.2f}x serial; "
                  f"gathered {r.stats['bytes_gathered'] / tasks / 1e3:.1f} kB/task")
        print(f"scattered once: {r.stats['bytes_scattered'] / 1e3:.0f} kB (X, y, X_val, y_val)"
              f" per worker")
    finally:
        client.close()
        lc.close()


def first_task(configs, Xtr, ytr, Xte, yte, epochs, cache, plugin):
    """Seconds: cluster start, plugin registration, first and second task (8 members)."""
    old = os.environ.get("NUMBA_CACHE_DIR")
    os.environ["NUMBA_CACHE_DIR"] = cache  # the worker processes inherit it
    try:
        t0 = time.perf_counter()
        lc, client = cluster()
        client.wait_for_workers(2)
        t1 = time.perf_counter()
        if plugin:
            client.register_plugin(fastbp.dask.WarmupPlugin(paths=("population", "predict")))
        t2 = time.perf_counter()
        out = []
        for _ in range(2):
            s = time.perf_counter()
            fastbp.dask.sweep(configs[:8], Xtr, ytr, Xte, yte, client=client,
                              members_per_task=8, epochs=epochs, **ARCH, sizes=SIZES)
            out.append(time.perf_counter() - s)
        client.close()
        lc.close()
        return t1 - t0, t2 - t1, out[0], out[1]
    finally:
        if old is None:
            del os.environ["NUMBA_CACHE_DIR"]
        else:
            os.environ["NUMBA_CACHE_DIR"] = old


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-cold", action="store_true", help="skip the cold-cache runs (minutes)")
    args = p.parse_args(argv)
    Xtr, Xte, ytr, yte = load()
    configs = fastbp.dask.grid(lr=list(np.geomspace(0.005, 0.3, 16)), seed=range(4))
    w = fastbp.warmup(paths=("sgd", "population", "predict"))  # fills the cache for the workers
    print(f"warmup here: {sum(w.values()):.1f} s; {len(configs)} configs, {Xtr.shape[0]} rows, "
          f"{args.epochs} epochs, {fastbp.Network(SIZES).n_params} parameters each")
    serial_s = local(configs, Xtr, ytr, args.epochs, args.repeat)
    distributed_sweep(configs, Xtr, ytr, Xte, yte, args.epochs, args.repeat, serial_s)
    caches = [("warm", os.environ.get("NUMBA_CACHE_DIR") or tempfile.mkdtemp())]
    if not args.no_cold:
        caches.append(("cold", None))
    for name, cache in caches:
        for plugin in (False, True):
            d = cache or tempfile.mkdtemp(prefix="nc_dsweep_cold_")
            start, reg, first, second = first_task(configs, Xtr, ytr, Xte, yte, args.epochs,
                                                   d, plugin)
            print(f"first task, {name} cache, plugin={plugin!s:5}: cluster start {start:.1f} s, "
                  f"plugin registration {reg:.1f} s, first sweep of 8 members {first:.2f} s, "
                  f"second {second:.2f} s")


if __name__ == "__main__":
    main()
