"""fastbp.dask.sweep on a LocalCluster of processes equals training each config alone."""
import numpy as np
import pytest

pytest.importorskip("distributed")
import fastbp  # noqa: E402
from fastbp import dask as fdask  # noqa: E402


def data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 0.5)
    return X, y


X, Y = data()
XV, YV = data(25, seed=1)
COMMON = dict(output="softmax", hidden="tanh", epochs=3, batch_size=2)
CONFIGS = fdask.grid(sizes=[[5, 4, 3], [5, 6, 3]], lr=[0.05, 0.2], seed=[0, 7])


def alone(c, X=X, Y=Y):
    """The independent result: one Network trained by itself, in this process."""
    c = {**COMMON, **c}
    net = fastbp.Network(c["sizes"], hidden=c["hidden"], output=c["output"], seed=c["seed"])
    net.fit(X, Y, lr=c["lr"], epochs=c["epochs"], batch_size=c["batch_size"],
            l2=c.get("l2", 0.0))
    acc = np.mean(net.predict(XV).argmax(axis=1) == YV)
    return net, net.history_.loss[-1], net.loss(XV, YV), acc


def test_grid_is_the_cartesian_product_last_axis_fastest():
    g = fdask.grid(sizes=[[2, 1]], lr=[0.1, 0.2], seed=range(2), output="sigmoid")
    assert g == [{"sizes": [2, 1], "lr": lr, "seed": s, "output": "sigmoid"}
                 for lr in (0.1, 0.2) for s in (0, 1)]


def test_sweep_equals_training_each_config_alone(dask_client, tmp_path):
    res = fdask.sweep(CONFIGS, X, Y, XV, YV, client=dask_client, members_per_task=3, **COMMON)
    assert res.stats["tasks"] == 4  # two architectures of 4 members, blocks of 3 and 1
    table = res.table
    assert len(table) == len(CONFIGS) and set(table["task"]) == {0, 1, 2, 3}
    expected = [alone(c) for c in CONFIGS]
    for i, (net, train, val, acc) in enumerate(expected):
        assert res.thetas[i].tobytes() == net.theta.tobytes(), f"config {i}"
        assert table["train_loss"][i] == train
        assert table["val_loss"][i] == val
        assert table["val_accuracy"][i] == acc
        assert table["diverged_at"][i] == 0
    order = sorted(range(len(CONFIGS)), key=lambda i: expected[i][2])
    best = res.best(k=3)
    assert [b.theta.tobytes() for b in best] == [expected[i][0].theta.tobytes()
                                                 for i in order[:3]]
    assert tuple(best[0].sizes) == tuple(CONFIGS[order[0]]["sizes"])
    by_acc = res.ranking("val_accuracy")
    assert [table["val_accuracy"][i] for i in by_acc] == sorted(table["val_accuracy"],
                                                                reverse=True)
    paths = res.save_best(tmp_path, k=2)
    assert [fastbp.load(p).theta.tobytes() for p in paths] == [b.theta.tobytes()
                                                              for b in best[:2]]


def test_a_diverged_member_gets_nan_scores_and_its_block_is_unaffected(dask_client):
    rng = np.random.default_rng(3)
    Xr = rng.normal(size=(30, 3)) * 1e3
    Yr = rng.normal(size=(30, 1)) * 1e3
    configs = [{"sizes": [3, 8, 1], "lr": lr, "seed": 1, "hidden": "relu", "output": "identity"}
               for lr in (1e-9, 5.0, 2e-9)]  # the middle one explodes
    res = fdask.sweep(configs, Xr, Yr, Xr, Yr, client=dask_client, members_per_task=3,
                      epochs=4)
    t = res.table
    assert res.stats["tasks"] == 1
    assert t["diverged_at"][1] >= 1 and np.isnan(t["train_loss"][1])
    assert np.isnan(t["val_loss"][1]) and np.isfinite(res.thetas[1]).all()
    for i in (0, 2):
        net = fastbp.Network([3, 8, 1], hidden="relu", output="identity", seed=1)
        net.fit(Xr, Yr, lr=configs[i]["lr"], epochs=4)
        assert res.thetas[i].tobytes() == net.theta.tobytes()
        assert t["train_loss"][i] == net.history_.loss[-1] and t["diverged_at"][i] == 0
        assert np.isnan(t["val_accuracy"][i])  # identity output: no accuracy
    assert res.ranking() == [2, 0] or res.ranking() == [0, 2]
    assert 1 not in res.ranking("train_loss")


UNREACHABLE = "tcp://127.0.0.1:9"  # checks must fail before any connection is tried


@pytest.mark.parametrize("configs, kw, err, match", [
    ([{"sizes": [5, 3], "lr": 0.1}, {"sizes": [5, 3], "lr": -1.0}], {}, ValueError,
     r"configs\[1\].*'lr'.*-1"),
    ([{"sizes": [5, 3], "momentum": 0.9}], {}, ValueError, r"configs\[0\] has unknown key"),
    ([{"lr": 0.1}], {}, ValueError, r"configs\[0\] has no 'sizes'"),
    ([{"sizes": [5, 3], "seed": None}], {}, ValueError, r"configs\[0\]\['seed'\]"),
    ([{"sizes": [5, 3], "output": "softmaxx"}], {}, ValueError, r"configs\[0\]"),
    ([{"sizes": [4, 3]}], {}, ValueError, r"does not fit configs\[0\]"),
    ([{"sizes": [5, 3]}], {"members_per_task": 0}, ValueError, "members_per_task"),
    ([{"sizes": [5, 3]}], {"optimizer": "adam"}, TypeError, "unknown keyword"),
    ({"sizes": [5, 3]}, {}, TypeError, "list of dicts"),
    ([], {}, ValueError, "configs is empty"),
    ([{"sizes": [5, 3]}], {"warm": "yes"}, TypeError, "warm must be"),
])
def test_invalid_sweeps_fail_before_connecting(configs, kw, err, match):
    with pytest.raises(err, match=match):
        fdask.sweep(configs, X, Y, client=UNREACHABLE, output="softmax", **kw)


def test_bad_client_and_ranking_without_validation(dask_client):
    with pytest.raises(TypeError, match="client must be"):
        fdask.sweep([{"sizes": [5, 3]}], X, Y, client=3, output="softmax")
    # the scheduler-address path: a Client of its own, closed after
    res = fdask.sweep([{"sizes": [5, 3], "seed": 2}], X, Y,
                      client=dask_client.scheduler.address, output="softmax")
    net, train, _, _ = alone({"sizes": [5, 3], "seed": 2, "lr": 0.1, "epochs": 1,
                              "batch_size": 1, "hidden": "sigmoid"})
    assert res.thetas[0].tobytes() == net.theta.tobytes()
    with pytest.raises(ValueError, match="by='train_loss'"):
        res.best()
    assert res.best(by="train_loss")[0].theta.tobytes() == net.theta.tobytes()
    with pytest.raises(ValueError, match="k must be"):
        res.best(k=0, by="train_loss")


def test_own_local_cluster_and_warm_workers():
    # client=None: a LocalCluster started and closed by sweep (threads here, to stay quick)
    res = fdask.sweep([{"sizes": [5, 3], "lr": 0.3, "seed": 4}], X, Y, XV, YV,
                      output="softmax", warm=fdask.WarmupPlugin(paths=("sgd", "population")),
                      cluster={"processes": False, "n_workers": 1, "threads_per_worker": 1})
    net, train, val, acc = alone({"sizes": [5, 3], "lr": 0.3, "seed": 4, "epochs": 1,
                                  "batch_size": 1, "hidden": "sigmoid"})
    assert res.thetas[0].tobytes() == net.theta.tobytes()
    assert (res.table["val_loss"][0], res.table["val_accuracy"][0]) == (val, acc)
    with pytest.raises(ValueError, match="paths has 'gpu'"):
        fdask.WarmupPlugin(paths=("gpu",))


def test_warm_plugin_on_process_workers(dask_client):
    plugin = fdask.WarmupPlugin(paths=("predict",))
    dask_client.register_plugin(plugin)
    warmed = dask_client.run(lambda dask_worker: sorted(dask_worker.fastbp_warmup))
    assert len(warmed) == 2
    assert all(w == [("float64", "predict")] for w in warmed.values())


def test_example_runs_on_the_cluster(dask_client, capsys):
    pytest.importorskip("sklearn")
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples"))
    import dask_sweep

    res = dask_sweep.main(["--epochs", "1", "--scheduler", dask_client.scheduler.address])
    out = capsys.readouterr().out
    assert "36 configs in 6 tasks" in out and "val_accuracy" in out
    assert res.table["val_accuracy"].max() > 0.85


def test_import_fastbp_does_not_import_dask_and_the_extra_is_named():
    import subprocess
    import sys
    code = ("import sys, fastbp; assert 'distributed' not in sys.modules and 'dask' not in "
            "sys.modules, 'import fastbp imported dask'; sys.modules['distributed'] = None\n"
            "try:\n    import fastbp.dask\nexcept ImportError as e:\n    print(e)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd="/")
    assert out.returncode == 0, out.stderr
    assert "pip install 'fastbp[dask]'" in out.stdout
