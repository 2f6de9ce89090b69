"""fastbp.river's MLPs next to River's own models on River's bundled streams.

Every model sits behind ``preprocessing.StandardScaler() |``. For each stream: the
progressive (test-then-train) accuracy or MAE, and the time per example of one
``predict_one`` plus one ``learn_one`` through the pipeline (best of ``--repeat`` passes over
the stream, examples materialised first so that reading the CSV is not timed).

    python benchmarks/river_stream.py [--repeat 5]   # pin it: taskset -c 1 python ...
"""
import argparse
import time

from river import datasets, linear_model, metrics, preprocessing, tree

import fastbp.river

STREAMS = [("Bananas", datasets.Bananas, metrics.Accuracy, "clf"),
           ("Phishing", datasets.Phishing, metrics.Accuracy, "clf"),
           ("TrumpApproval", datasets.TrumpApproval, metrics.MAE, "reg")]


def models(kind):
    """(name, factory) of the models compared on a stream of this kind."""
    if kind == "clf":
        return [("fastbp MLPClassifier", lambda: fastbp.river.MLPClassifier(seed=0)),
                ("River LogisticRegression", linear_model.LogisticRegression),
                ("River HoeffdingTreeClassifier", tree.HoeffdingTreeClassifier)]
    return [("fastbp MLPRegressor", lambda: fastbp.river.MLPRegressor(seed=0)),
            ("River LinearRegression", linear_model.LinearRegression),
            ("River HoeffdingTreeRegressor", tree.HoeffdingTreeRegressor)]


def run(data, factory, metric_cls):
    """(metric value, seconds) of one progressive pass over data."""
    model = preprocessing.StandardScaler() | factory()
    metric = metric_cls()
    t0 = time.perf_counter()
    for x, y in data:
        metric.update(y, model.predict_one(x))
        model.learn_one(x, y)
    return metric.get(), time.perf_counter() - t0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    rows = []
    for stream, ds, metric_cls, kind in STREAMS:
        data = list(ds())
        for name, factory in models(kind):
            run(data[:50], factory, metric_cls)  # compile / warm up
            results = [run(data, factory, metric_cls) for _ in range(args.repeat)]
            score = results[0][0]
            us = min(s for _, s in results) / len(data) * 1e6
            rows.append((stream, len(data), name, metric_cls.__name__, score, us))
    print("| stream | n | model | metric | value | us / example |")
    print("| --- | ---: | --- | --- | ---: | ---: |")
    for stream, n, name, metric, score, us in rows:
        value = f"{score:.2%}" if metric == "Accuracy" else f"{score:.3f}"
        print(f"| {stream} | {n} | {name} | {metric} | {value} | {us:.1f} |")
    return rows


if __name__ == "__main__":
    main()
