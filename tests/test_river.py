"""fastbp.river: River's protocol and checks, growth, robustness, and trajectories equal to a
fastbp Network trained per example."""
import copy
import pickle

import numpy as np
import pytest

river = pytest.importorskip("river")
pd = pytest.importorskip("pandas")

from river import checks, compose, datasets, evaluate, metrics, preprocessing  # noqa: E402

import fastbp  # noqa: E402
from fastbp.river import MLPClassifier, MLPRegressor  # noqa: E402
from fastbp.training import DivergenceError  # noqa: E402


def stream(n=200, d=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5) * (classes > 2)
    return X, y


def dicts(X):
    return [{f"f{j}": float(v) for j, v in enumerate(row)} for row in X]


@pytest.mark.parametrize("est", [MLPClassifier(), MLPRegressor(),
                                 MLPClassifier(optimizer="sgd", l2=1e-4),
                                 MLPRegressor(optimizer="adam", scale_y=False, lr=0.01)])
def test_river_check_estimator(est):
    checks.check_estimator(est)


def test_import_fastbp_does_not_import_river():
    import subprocess
    import sys
    code = "import sys, fastbp; print('river' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd="/", check=True).stdout.strip()
    assert out == "False"


def test_regressor_sgd_trajectory_equals_network_partial_fit():
    X, _ = stream(150)
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1
    est = MLPRegressor(hidden_layer_sizes=(8,), activation="tanh", optimizer="sgd", lr=0.02,
                       scale_y=False, seed=3)
    net = fastbp.Network([4, 8, 1], hidden="tanh", output="identity", seed=3)
    for x, row, t in zip(dicts(X), X, y):
        est.learn_one(x, float(t))
        net.partial_fit(row, np.array([t]), lr=0.02)
    np.testing.assert_array_equal(est.network_.theta, net.theta)
    assert est.predict_one(dicts(X[:1])[0]) == net.predict(X[0])[0]


def test_classifier_trajectory_from_the_second_class_on_equals_network():
    X, y = stream(120, classes=2)
    y[0], y[1] = 0, 1  # the network is made at the first example with a second class
    est = MLPClassifier(hidden_layer_sizes=(6,), optimizer="sgd", lr=0.05, seed=1)
    net = fastbp.Network([4, 6, 2], hidden="relu", output="softmax", seed=1)
    for i, (x, row) in enumerate(zip(dicts(X), X)):
        est.learn_one(x, int(y[i]))
        if i >= 1:
            net.partial_fit(row, np.eye(2)[y[i]], lr=0.05)
    np.testing.assert_array_equal(est.network_.theta, net.theta)
    p = est.predict_proba_one(dicts(X[:1])[0])
    np.testing.assert_allclose([p[0], p[1]], net.predict(X[0]), rtol=1e-12)


def adam_reference(X, Y, sizes, hidden, output, seed, lr):
    """The same Adam steps through fastbp.optim.step (the public kernel)."""
    net = fastbp.Network(sizes, hidden=hidden, output=output, seed=seed)
    opt = fastbp.optim.make_state("adam", net.n_params, net.dtype, lr, 0.0, 0.9)
    drop = fastbp.optim.make_dropout([0.0] * (len(sizes) - 2), len(sizes), net.dtype, 0)
    ws = net.workspace()
    for row, t in zip(X, Y):
        fastbp.optim.step(net.theta, net.spec, ws, opt, drop, row, t)
    return net, opt


def test_regressor_adam_state_kept_across_calls_matches_optim_step():
    X, _ = stream(80)
    y = np.sin(X[:, 0])
    est = MLPRegressor(hidden_layer_sizes=(5,), optimizer="adam", lr=0.01, scale_y=False,
                       seed=2)
    for x, t in zip(dicts(X), y):
        est.learn_one(x, float(t))
    net, opt = adam_reference(X, y[:, None], [4, 5, 1], "relu", "identity", 2, 0.01)
    np.testing.assert_allclose(est.network_.theta, net.theta, rtol=1e-12, atol=1e-15)
    assert est._engine.opt.t[0] == opt.t[0] == 80


def test_feature_growth_keeps_old_parameters_and_adds_zero_columns():
    est = MLPRegressor(hidden_layer_sizes=(5,), optimizer="adam", seed=0)
    est.learn_one({"b": 1.0, "a": 2.0}, 1.0)
    W0, b0 = est.network_.weights[0].copy(), est.network_.biases[0].copy()
    W1 = est.network_.weights[1].copy()
    m_before = est._engine.opt.m.copy()
    before = est.predict_one({"a": 0.3, "b": -1.0})
    # grow only (lr tiny): the old columns keep their values, the new one starts at 0
    est._engine = est._engine.grown(3, 1, est._rng)
    est._columns["c"] = 2
    assert est.predict_one({"a": 0.3, "b": -1.0, "c": 5.0}) == before
    np.testing.assert_array_equal(est.network_.weights[0][:, :2], W0)
    np.testing.assert_array_equal(est.network_.weights[0][:, 2], 0.0)
    np.testing.assert_array_equal(est.network_.biases[0], b0)
    np.testing.assert_array_equal(est.network_.weights[1], W1)
    m_new = est._engine.opt.m
    old_layout = fastbp.Network([2, 5, 1]).layout
    np.testing.assert_array_equal(est.network_.layout.weights(m_new)[0][:, :2],
                                  old_layout.weights(m_before)[0])
    np.testing.assert_array_equal(est.network_.layout.weights(m_new)[0][:, 2], 0.0)
    # columns sorted, whatever the order of the first dict's keys
    assert list(est._columns) == ["a", "b", "c"]


def test_learn_one_with_new_feature_grows_and_steps():
    est = MLPClassifier(hidden_layer_sizes=(4,), seed=0)
    est.learn_one({"a": 1.0}, "x")
    est.learn_one({"a": -1.0}, "y")
    W_a = est.network_.weights[0][:, 0].copy()
    est.learn_one({"a": 0.5, "z": 2.0}, "x")
    assert est.network_.sizes[0] == 2 and est.n_features_ == 2
    assert not np.array_equal(est.network_.weights[0][:, 1], 0.0)  # trained after growing
    assert not np.array_equal(est.network_.weights[0][:, 0], W_a)


def test_new_class_grows_output_rows_old_rows_unchanged():
    est = MLPClassifier(hidden_layer_sizes=(4,), seed=0)
    est.learn_one({"a": 1.0, "b": 0.0}, "cat")
    assert est.predict_proba_one({"a": 1.0}) == {"cat": 1.0} and est.network_ is None
    est.learn_one({"a": 0.0, "b": 1.0}, "dog")
    net = est.network_
    W1, b1, W0 = net.weights[1].copy(), net.biases[1].copy(), net.weights[0].copy()
    grown = est._engine.grown(2, 3, np.random.default_rng(9))
    np.testing.assert_array_equal(grown.net.weights[1][:2], W1)
    np.testing.assert_array_equal(grown.net.biases[1][:2], b1)
    np.testing.assert_array_equal(grown.net.weights[0], W0)
    e = np.sqrt(6.0) / np.sqrt(4 + 3)
    new_row = grown.net.weights[1][2]
    np.testing.assert_array_equal(new_row, np.random.default_rng(9).uniform(-e, e, (1, 4))[0])
    assert grown.net.biases[1][2] == 0.0 and np.all(grown.opt.m[-7:] == 0.0)
    est.learn_one({"a": 1.0, "b": 1.0}, "bird")
    assert est.classes_ == ["cat", "dog", "bird"] and est.network_.sizes[-1] == 3
    p = est.predict_proba_one({"a": 1.0, "b": 1.0})
    assert set(p) == {"cat", "dog", "bird"} and abs(sum(p.values()) - 1.0) < 1e-12


@pytest.mark.parametrize("labels", [(False, True), (0, 1, 2)])
def test_binary_and_multiclass_learn_on_a_separable_stream(labels):
    X, y = stream(600, classes=len(labels))
    est = MLPClassifier(seed=0)
    acc = metrics.Accuracy()
    for x, t in zip(dicts(X), y):
        label = labels[t]
        acc.update(label, est.predict_one(x))
        est.learn_one(x, label)
    assert acc.get() > 0.75  # the majority label: 50% (binary), 40% (3 classes)
    assert set(est.predict_proba_one(dicts(X[:1])[0])) == set(labels)


def test_pipeline_and_progressive_val_score_beat_the_majority():
    model = preprocessing.StandardScaler() | MLPClassifier(seed=0)
    assert isinstance(model, compose.Pipeline)
    acc = evaluate.progressive_val_score(datasets.Phishing(), model, metrics.Accuracy())
    assert acc.get() > 0.85  # the majority class is 56%
    reg = preprocessing.StandardScaler() | MLPRegressor(seed=0)
    mae = evaluate.progressive_val_score(datasets.TrumpApproval(), reg, metrics.MAE())
    assert mae.get() < 1.0  # River's LinearRegression: 1.31


def test_clone_is_fresh_and_same_params():
    est = MLPClassifier(hidden_layer_sizes=(3,), lr=0.05, seed=4)
    for x, t in zip(dicts(stream(20)[0]), stream(20)[1]):
        est.learn_one(x, int(t))
    c = est.clone()
    assert c._get_params() == est._get_params() and c.network_ is None and c.classes_ == []
    c2 = est.clone({"lr": 0.1})
    assert c2.lr == 0.1 and c2.hidden_layer_sizes == (3,)


def test_learn_many_and_predict_many_equal_the_per_row_calls():
    X, y = stream(90)
    df = pd.DataFrame(X, columns=[f"f{j}" for j in range(4)])
    one, many = MLPClassifier(seed=5), MLPClassifier(seed=5)
    for x, t in zip(dicts(X), y):
        one.learn_one(x, int(t))
    many.learn_many(df, pd.Series(y))
    np.testing.assert_array_equal(one.network_.theta, many.network_.theta)
    labels = many.predict_many(df).tolist()
    assert labels == [one.predict_one(x) for x in dicts(X)]
    P = many.predict_proba_many(df)
    for i, x in enumerate(dicts(X[:10])):
        p = one.predict_proba_one(x)
        np.testing.assert_allclose([P.iloc[i][c] for c in p], list(p.values()), rtol=1e-12)
    reg_one, reg_many = MLPRegressor(seed=1), MLPRegressor(seed=1)
    for x, t in zip(dicts(X), X[:, 0]):
        reg_one.learn_one(x, float(t))
    reg_many.learn_many(df, pd.Series(X[:, 0]))
    np.testing.assert_array_equal(reg_one.network_.theta, reg_many.network_.theta)
    np.testing.assert_allclose(reg_many.predict_many(df).to_numpy(),
                               [reg_one.predict_one(x) for x in dicts(X)], rtol=1e-12)


def trained(cls, **kw):
    est = cls(seed=0, **kw)
    X, y = stream(30)
    for x, t in zip(dicts(X), y):
        est.learn_one(x, int(t) if cls is MLPClassifier else float(t))
    return est


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("bad, word", [(float("nan"), "f1"), (float("inf"), "f1"),
                                       ("3.5", "non-numeric"), (None, "non-numeric")])
def test_bad_x_raises_naming_the_feature_and_changes_nothing(cls, bad, word):
    est = trained(cls)
    before = pickle.dumps(est)
    x = {"f0": 0.1, "f1": bad, "f2": 0.0, "f3": 1.0}
    with pytest.raises(ValueError, match=word):
        est.learn_one(x, 1 if cls is MLPClassifier else 1.0)
    with pytest.raises(ValueError, match=word):
        est.learn_one({**x, "new": 1.0}, 7 if cls is MLPClassifier else 1.0)  # growth path
    with pytest.raises(ValueError, match=word):
        est.predict_one(x)
    assert pickle.dumps(est) == before


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "1.0", None])
def test_regressor_bad_y_raises_and_changes_nothing(bad):
    est = trained(MLPRegressor)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="y must be a finite number"):
        est.learn_one({"f0": 1.0}, bad)
    assert pickle.dumps(est) == before


def test_classifier_bad_label_raises_and_changes_nothing():
    est = trained(MLPClassifier)
    before = pickle.dumps(est)
    with pytest.raises(ValueError, match="y is None"):
        est.learn_one({"f0": 1.0}, None)
    with pytest.raises(TypeError):
        est.learn_one({"f0": 1.0}, [1])
    assert pickle.dumps(est) == before


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "momentum"])
def test_divergence_raises_and_leaves_the_model_as_before(optimizer):
    est = trained(MLPRegressor, optimizer=optimizer, scale_y=False)
    theta = est.network_.theta.copy()
    state = copy.deepcopy(est._engine.opt)
    before = pickle.dumps(est)
    with pytest.raises(DivergenceError, match="as it was before"):
        est.learn_one({"f0": 1e200, "f1": -1e200, "f2": 1e200, "f3": 1e200}, 1e6)
    np.testing.assert_array_equal(est.network_.theta, theta)
    np.testing.assert_array_equal(est._engine.opt.m, state.m)
    assert est._engine.opt.t[0] == state.t[0]
    # on the growth path too: the new column and the old network are put back
    with pytest.raises(DivergenceError):
        est.learn_one({"f0": 1e200, "f1": -1e200, "f2": 1e200, "f3": 1e200, "g": 1e200}, 1e6)
    assert pickle.dumps(est) == before


@pytest.mark.parametrize("kw, word", [(dict(hidden_layer_sizes=[4]), "hidden_layer_sizes"),
                                      (dict(activation="softmax"), "activation"),
                                      (dict(optimizer="lbfgs"), "optimizer"),
                                      (dict(lr=0.0), "lr"), (dict(l2=-1.0), "l2"),
                                      (dict(momentum=1.0), "momentum")])
def test_bad_parameters_name_themselves(kw, word):
    with pytest.raises(ValueError, match=word):
        MLPClassifier(**kw)


def test_missing_features_count_as_zero_and_unknown_ones_are_ignored():
    est = trained(MLPRegressor)
    full = est.predict_one({"f0": 0.5, "f1": 0.0, "f2": 0.0, "f3": 0.0})
    assert est.predict_one({"f0": 0.5}) == full
    assert est.predict_one({"f0": 0.5, "never_seen": 9.0}) == full


def test_example_river_stream_runs_and_learns():
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(__file__)), "examples"))
    import river_stream
    r = river_stream.main()
    assert r["Phishing"] > 0.85 and r["Bananas"] > 0.7 and r["TrumpApproval"] < 1.0


def _slow_fill_only(est):
    """Disable the fast (itemgetter + struct) fill of est's current engine."""
    orig = est._bind

    def bind(eng):
        eng.bind(None)
        return eng
    est._bind = bind
    if est._engine is not None:
        est._engine.bind(None)
    return orig


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("d", [1, 4])
def test_fast_fill_equals_the_feature_by_feature_fill(cls, d):
    """Key order shuffled, features missing, a same-size dict with a new key, NumPy and
    Decimal values, a pickle round trip: the fast fill and the slow fill train and predict
    bit for bit the same."""
    from decimal import Decimal
    rng = np.random.default_rng(3)
    X, y = stream(120)
    X = X[:, :d]
    xs = []
    for i, x in enumerate(dicts(X)):
        keys = list(x)
        rng.shuffle(keys)
        x = {k: x[k] for k in keys}
        if i % 7 == 3:
            x.pop(keys[0])  # a missing feature
        if i % 11 == 5:
            x = {**{k: v for k, v in list(x.items())[:-1]}, f"new{i}": 0.5}  # same size, new key
        if i % 5 == 1 and x:
            k = next(iter(x))
            x[k] = np.float32(x[k]) if i % 2 else Decimal(str(round(x[k], 3)))
        xs.append(x)
    fast, slow = cls(seed=1), cls(seed=1)
    _slow_fill_only(slow)
    label = (lambda t: int(t)) if cls is MLPClassifier else (lambda t: float(t))
    for i, (x, t) in enumerate(zip(xs, y)):
        assert fast.predict_one(x) == slow.predict_one(x)
        fast.learn_one(x, label(t))
        slow.learn_one(x, label(t))
        if i == 60:
            fast = pickle.loads(pickle.dumps(fast))
            assert fast._engine.pack is not None
    assert fast._engine.pack is not None and slow._engine.pack is None
    assert fast.n_features_ == slow.n_features_ > d
    np.testing.assert_array_equal(fast.network_.theta, slow.network_.theta)


@pytest.mark.parametrize("bad", [b"1.0", bytearray(b"1"), "2", [1.0], 1j])
def test_fast_fill_rejects_what_the_slow_fill_rejects(bad):
    est = trained(MLPClassifier)
    assert est._engine.pack is not None
    before = pickle.dumps(est)
    x = {"f0": 0.1, "f1": bad, "f2": 0.0, "f3": 1.0}
    with pytest.raises(ValueError, match="f1.*non-numeric"):
        est.learn_one(x, 1)
    with pytest.raises(ValueError, match="f1.*non-numeric"):
        est.predict_one(x)
    assert pickle.dumps(est) == before


@pytest.mark.parametrize("cls, kw", [(MLPClassifier, {}), (MLPRegressor, {}),
                                     (MLPClassifier, dict(optimizer="adam"))])
def test_river_memory_walk_never_reaches_numba(cls, kw):
    """River's memory_usage walks gc.get_referents from the estimator, skipping types,
    modules and functions; through a numba dispatcher it met dead weak proxies in the full
    suite (ReferenceError in check_estimator). No dispatcher may be reachable that way."""
    import gc
    import types
    from numba.core.dispatcher import Dispatcher
    est = trained(cls, **kw)
    skip = (type, types.ModuleType, types.FunctionType)
    seen, pending = set(), [est]
    while pending:
        nxt = []
        for obj in pending:
            if isinstance(obj, skip) or id(obj) in seen:
                continue
            seen.add(id(obj))
            assert not isinstance(obj, Dispatcher), obj
            nxt.extend(gc.get_referents(obj))
        pending = nxt
    assert len(seen) > 20  # the walk did reach the engine's arrays
    est._memory_usage  # River's own walk
