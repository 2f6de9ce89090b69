"""fastbp's scikit-learn estimators on Dask (issue 11, items 1, 2, 5): scikit-learn's searches
with joblib's Dask backend, dask-ml's ``Incremental`` streaming and adaptive searches, and
networks / estimators / populations moved to worker processes (spawned and forked) and back.

Every check compares against the same computation done locally: fastbp is deterministic for
a given seed, so the results must be exactly equal. The cluster is conftest's session-scoped
``dask_client`` (two spawned worker processes); the fork test starts and closes its own."""
import copy
import os
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("dask_ml")
pytest.importorskip("sklearn")
import cloudpickle  # noqa: E402  (dask's dependency)
import dask  # noqa: E402
import dask.array as da  # noqa: E402
import dask.dataframe as dd  # noqa: E402
import distributed  # noqa: E402
import joblib  # noqa: E402
import pandas as pd  # noqa: E402
from dask_ml.model_selection import HyperbandSearchCV  # noqa: E402
from dask_ml.wrappers import Incremental  # noqa: E402
from sklearn.metrics import mean_squared_error  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV  # noqa: E402
from sklearn.utils import check_random_state  # noqa: E402

import fastbp  # noqa: E402
from fastbp.sklearn import FastBPClassifier, FastBPRegressor  # noqa: E402

# the helpers below run on the workers, which cannot import this test module: send them by value
cloudpickle.register_pickle_by_value(sys.modules[__name__])

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

TIMEOUT = 120  # seconds for any one result from the cluster: a hang fails, never blocks CI
CLASSES = np.array(["a", "b", "c"])


def _data(n=240, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = CLASSES[(X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)]
    return X, y, X @ np.arange(1.0, 6.0) + 1.0  # features, labels, regression targets


def _executed(dask_worker):
    """Tasks this worker has run (runs on the worker through ``client.run``)."""
    return dask_worker.state.executed_count


def _tasks_run(client):
    return sum(client.run(_executed).values())


def _assert_same_search(serial, dist):
    """Every entry of cv_results_ but the timings, and best_params_, exactly equal."""
    keys = [k for k in serial.cv_results_ if "time" not in k]
    assert sorted(keys) == sorted(k for k in dist.cv_results_ if "time" not in k)
    for k in keys:
        a, b = serial.cv_results_[k], dist.cv_results_[k]
        if k == "params" or k.startswith("param_"):
            assert list(a) == list(b), k
        else:
            np.testing.assert_array_equal(a, b, err_msg=k)
    assert serial.best_params_ == dist.best_params_
    assert serial.best_score_ == dist.best_score_


# ------------------------------------------------------------------ 1. joblib's Dask backend
@pytest.mark.parametrize("kind", ["grid-classifier", "randomized-regressor"])
def test_search_on_cluster_equals_serial(dask_client, kind):
    X, y, t = _data()
    if kind == "grid-classifier":
        target = y
        make = lambda n_jobs: GridSearchCV(  # noqa: E731
            FastBPClassifier((6,), max_iter=3, random_state=0),
            {"learning_rate_init": [0.01, 0.05], "solver": ["sgd", "adam"]}, cv=3,
            n_jobs=n_jobs)
    else:
        target = t
        make = lambda n_jobs: RandomizedSearchCV(  # noqa: E731
            FastBPRegressor((6,), max_iter=2, random_state=1),
            {"learning_rate_init": [0.001, 0.003, 0.01], "hidden_layer_sizes": [(4,), (8,)],
             "alpha": [0.0, 1e-3]}, n_iter=4, cv=3, random_state=0, n_jobs=n_jobs)
    serial = make(1).fit(X, target)
    before = _tasks_run(dask_client)
    with joblib.parallel_backend("dask"):
        dist = make(None).fit(X, target)
    ran = _tasks_run(dask_client) - before
    # 12 fits (plus the refit, which runs here): joblib batches them into tasks on the workers
    assert ran >= 2, f"only {ran} tasks ran on the workers"
    _assert_same_search(serial, dist)
    np.testing.assert_array_equal(serial.best_estimator_.network_.theta,
                                  dist.best_estimator_.network_.theta)


# ------------------------------------------------------------------ 2. dask-ml Incremental
def _local_passes(est, blocks, order, **kw):
    """partial_fit on the blocks in ``order``, here: what Incremental must reproduce."""
    for i in order:
        est.partial_fit(*blocks[i], **kw)
    return est


def test_incremental_array_equals_local_partial_fits(dask_client):
    X, y, _ = _data()
    dX, dy = da.from_array(X, chunks=(48, 5)), da.from_array(y, chunks=48)
    blocks = [(X[i:i + 48], y[i:i + 48]) for i in range(0, len(X), 48)]
    est = FastBPClassifier((8,), solver="adam", learning_rate_init=0.01, random_state=0)
    # dask-ml shuffles the blocks' order with random_state; replay that order here
    inc = Incremental(est, shuffle_blocks=True, random_state=3).fit(dX, dy, classes=CLASSES)
    order = list(range(len(blocks)))
    check_random_state(3).shuffle(order)
    assert order != sorted(order)
    local = _local_passes(est.__class__(**est.get_params()), blocks, order, classes=CLASSES)
    fitted = inc.estimator_
    np.testing.assert_array_equal(fitted.network_.theta, local.network_.theta)
    # adam's moments and step count came back with the model, one step per row seen
    np.testing.assert_array_equal(fitted._opt_state.m, local._opt_state.m)
    assert fitted._opt_state.t == local._opt_state.t
    assert (fitted.n_iter_, fitted.t_) == (5, 240) == (local.n_iter_, local.t_)
    assert inc.score(dX, dy) == local.score(X, y)
    np.testing.assert_array_equal(inc.predict(dX).compute(), local.predict(X))
    # a second Incremental.partial_fit continues from estimator_ (state carried on)
    inc.partial_fit(dX, dy, classes=CLASSES)
    _local_passes(local, blocks, order, classes=CLASSES)
    np.testing.assert_array_equal(inc.estimator_.network_.theta, local.network_.theta)


def test_incremental_classes(dask_client):
    X, y, _ = _data(n=96)
    dX, dy = da.from_array(X, chunks=(48, 5)), da.from_array(y, chunks=48)
    est = FastBPClassifier((4,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        Incremental(est, shuffle_blocks=False).fit(dX, dy)
    with pytest.raises(ValueError, match="not among classes_"):  # a label outside classes=
        Incremental(est, shuffle_blocks=False).fit(dX, dy, classes=["a", "b"])
    inc = Incremental(est, shuffle_blocks=False).fit(dX, dy, classes=["c", "a", "b", "d"])
    np.testing.assert_array_equal(inc.estimator_.classes_, ["a", "b", "c", "d"])
    assert inc.predict_proba(dX).compute().shape == (96, 4)


# dask-ml scores a frame as a Dask array (no feature names) and compares labels as pyarrow bools
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
@pytest.mark.filterwarnings("ignore:Dask currently has limited support")
def test_incremental_dataframe_from_csv_files(dask_client, tmp_path):
    X, y, _ = _data()
    cols = [f"x{j}" for j in range(5)]
    for i in range(3):  # three files: three partitions, read in chunks by the workers
        part = pd.DataFrame(X[80 * i:80 * i + 80], columns=cols)
        part["label"] = y[80 * i:80 * i + 80]
        part.to_csv(tmp_path / f"part{i}.csv", index=False)
    frame = dd.read_csv(str(tmp_path / "part*.csv"))
    assert frame.npartitions == 3
    est = FastBPClassifier((8,), solver="momentum", learning_rate_init=0.01, random_state=2)
    inc = Incremental(est, shuffle_blocks=False).fit(frame[cols], frame["label"],
                                                     classes=CLASSES)
    local = FastBPClassifier(**est.get_params())
    for i in range(3):
        part = pd.read_csv(tmp_path / f"part{i}.csv")
        local.partial_fit(part[cols], part["label"], classes=CLASSES)
    np.testing.assert_array_equal(inc.estimator_.network_.theta, local.network_.theta)
    np.testing.assert_array_equal(inc.estimator_.feature_names_in_, cols)
    assert inc.score(frame[cols], frame["label"]) == local.score(X, y)


def test_incremental_regressor(dask_client):
    X, _, t = _data()
    dX, dt = da.from_array(X, chunks=(60, 5)), da.from_array(t, chunks=60)
    est = FastBPRegressor((8,), solver="adam", random_state=0)
    # dask-ml's r2 on Dask arrays fails with dask 2025.2 (dask/dask-ml#1012): score with MSE
    inc = Incremental(est, scoring="neg_mean_squared_error", shuffle_blocks=False).fit(dX, dt)
    local = _local_passes(FastBPRegressor(**est.get_params()),
                          [(X[i:i + 60], t[i:i + 60]) for i in range(0, 240, 60)], range(4))
    np.testing.assert_array_equal(inc.estimator_.network_.theta, local.network_.theta)
    assert (inc.estimator_.y_mean_, inc.estimator_.y_scale_) == (local.y_mean_,
                                                                  local.y_scale_)
    # chunked sums against NumPy's pairwise sum: equal to rounding
    assert inc.score(dX, dt) == pytest.approx(-mean_squared_error(t, local.predict(X)),
                                              rel=1e-12)
    assert inc.estimator_.score(X, t) == local.score(X, t)  # r2 on NumPy data


def test_hyperband(dask_client):
    X, y, _ = _data()
    dX, dy = da.from_array(X, chunks=(48, 5)), da.from_array(y, chunks=48)
    grid = {"learning_rate_init": [0.003, 0.01, 0.03, 0.1], "solver": ["sgd", "adam"]}
    search = HyperbandSearchCV(FastBPClassifier((8,), random_state=0), grid, max_iter=9,
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 8 candidates, fewer than max_iter=9
        search.fit(dX, dy, classes=CLASSES)
    assert search.best_params_["learning_rate_init"] in grid["learning_rate_init"]
    assert search.best_params_["solver"] in grid["solver"]
    assert search.metadata_["n_models"] == len(search.model_history_) >= len(grid["solver"])
    best = search.best_estimator_
    calls = search.cv_results_["partial_fit_calls"][search.best_index_]
    # every partial_fit call was one pass of the same model object, carried between tasks
    assert best.n_iter_ == calls == len(best.loss_curve_) >= 1
    assert search.best_score_ == np.max(search.cv_results_["test_score"])
    assert 0.0 <= search.score(dX, dy) <= 1.0


# ------------------------------------------------------------------ 5. the process model
def _train_network(net, X, Y):
    net.fit(X, Y, epochs=2, lr=0.1, batch_size=1)
    return net


def _train_population(pop, X, Y):
    pop.fit(X, Y, epochs=2, lr=[0.05, 0.1, 0.2], n_threads=1)
    return pop


def _fit(est, X, y):
    return est.fit(X, y)


def _continue(est, X, y):
    return est.partial_fit(X, y)


def _module_loaded():
    """Whether this test module is imported in the worker: only a forked worker inherits it."""
    return __name__ in sys.modules


def _round_trips(client, X, Y, y):
    """Networks, populations and estimators trained on a worker equal the same trained here;
    fitted ones predict there as here. Returns nothing; asserts."""
    def run(f, *args):
        return client.submit(f, *args, pure=False).result(timeout=TIMEOUT)

    # each local run first: it compiles (or loads) the kernels here and fills numba's cache,
    # from which the worker then loads them instead of compiling them again at the same time
    net = fastbp.Network([5, 6, 3], output="softmax", seed=4)
    local = _train_network(copy.deepcopy(net), X, Y)  # net.copy() would draw a new stream
    remote = run(_train_network, net, X, Y)
    np.testing.assert_array_equal(remote.theta, local.theta)
    np.testing.assert_array_equal(run(remote.predict, X), local.predict(X))
    assert remote.history_.loss == local.history_.loss

    pop = fastbp.Population([5, 4, 3], 3, output="softmax", seeds=[7, 8, 9])
    local_pop = _train_population(copy.deepcopy(pop), X, Y)
    remote_pop = run(_train_population, pop, X, Y)
    np.testing.assert_array_equal(remote_pop.thetas, local_pop.thetas)
    assert all(np.shares_memory(m.theta, remote_pop.thetas) for m in remote_pop.members)
    np.testing.assert_array_equal(run(remote_pop.predict, X), local_pop.predict(X))

    est = FastBPClassifier((6,), solver="adam", max_iter=3, random_state=5)
    local_est = _fit(FastBPClassifier(**est.get_params()), X, y)
    remote_est = run(_fit, est, X, y)  # an unfitted estimator out, a fitted one back
    assert not hasattr(est, "network_")  # what was trained was the worker's copy
    np.testing.assert_array_equal(remote_est.network_.theta, local_est.network_.theta)
    np.testing.assert_array_equal(run(remote_est.predict_proba, X), local_est.predict_proba(X))
    # a fitted one out: partial_fit there continues adam's state as it does here
    remote_more = run(_continue, remote_est, X, y)
    _continue(local_est, X, y)
    np.testing.assert_array_equal(remote_more.network_.theta, local_est.network_.theta)
    assert remote_more._opt_state.t == local_est._opt_state.t


def test_process_model_spawned_workers(dask_client):
    X, y, _ = _data(n=60)
    Y = np.eye(3)[np.searchsorted(CLASSES, y)]
    assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"
    assert not any(dask_client.run(_module_loaded).values())  # spawned: a fresh interpreter
    _round_trips(dask_client, X, Y, y)


def test_process_model_forked_worker_and_restart(dask_client):
    X, y, _ = _data(n=60)
    Y = np.eye(3)[np.searchsorted(CLASSES, y)]
    fastbp.Population([5, 4, 3], 2).fit(X, Y, epochs=1)  # parallel code ran before the fork
    config = {"distributed.worker.multiprocessing-method": "fork",
              "distributed.worker.daemon": False, "distributed.comm.timeouts.connect": "60s"}
    with dask.config.set(config), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork from a threaded process
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=40)
        client = distributed.Client(cluster, timeout="60s")
        try:
            client.wait_for_workers(1, timeout=TIMEOUT)
            assert all(client.run(_module_loaded).values())  # forked from this process
            _round_trips(client, X, Y, y)
            before = set(client.run(os.getpid).values())
            client.restart(timeout=TIMEOUT)  # the nanny kills the worker and starts a new one
            client.wait_for_workers(1, timeout=TIMEOUT)
            assert set(client.run(os.getpid).values()).isdisjoint(before)
            _round_trips(client, X, Y, y)
        finally:
            client.close(timeout=30)
            cluster.close(timeout=30)
