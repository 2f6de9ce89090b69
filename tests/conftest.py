import itertools

import numba
import numpy as np
import pytest

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "identity"]
OUTPUT_LOSS = [("sigmoid", "cross_entropy"), ("sigmoid", "mse"), ("softmax", "cross_entropy"),
               ("softmax", "mse"), ("identity", "mse"), ("tanh", "mse")]
COMBOS = [(h, o, l) for h, (o, l) in itertools.product(HIDDEN, OUTPUT_LOSS)]
KINKED = {"relu", "leaky_relu", "elu"}  # non-smooth (or non-C2) at z = 0

#: for tests that train with n_threads=2 (numba's pool is sized by the CPUs this process may
#: use: 1 under `taskset -c 0`)
two_threads = pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2,
                                 reason="needs numba's thread pool of 2 or more")


def make_data(output, n=20, n_in=4, n_out=3, seed=0, dtype=np.float64):
    """Seeded inputs and targets inside the domain of the output's loss."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_in))
    if output == "softmax":
        Y = np.eye(n_out)[rng.integers(0, n_out, n)]
    elif output == "sigmoid":
        Y = rng.random((n, n_out))
    elif output == "tanh":
        Y = rng.uniform(-0.9, 0.9, (n, n_out))
    else:
        Y = rng.normal(size=(n, n_out))
    return X.astype(dtype), Y.astype(dtype)


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(scope="session")
def dask_client():
    """One Dask ``LocalCluster`` of two worker processes (one thread each) for every Dask
    test of the session, closed at the end. Skipped when the ``dask`` extra is missing.

    Workers are processes (as on a real cluster): everything sent to them is pickled. Their
    start and every operation on them are bounded by timeouts, so a broken cluster fails the
    tests instead of hanging CI."""
    pytest.importorskip("dask_ml")
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "60s",
                          "distributed.worker.daemon": False}):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=40)
        client = distributed.Client(cluster, timeout="60s")
    try:
        client.wait_for_workers(2, timeout=120)
        yield client
    finally:
        client.close(timeout=30)
        cluster.close(timeout=30)
