"""Issue 10, part 1: the scikit-learn estimators (fastbp.sklearn).

scikit-learn's own estimator checks, unmodified and with no expected failures, then the
ecosystem (Pipeline, GridSearchCV, cross_val_score, clone, pickle, joblib), labels of every
kind, multilabel and multi-output targets, partial_fit's persistent optimiser state and the
regressor on raw diabetes targets.
"""
import io
import pickle
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
import joblib  # noqa: E402  (a dependency of scikit-learn)
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_diabetes, load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastbp  # noqa: E402
from fastbp.sklearn import FastBPClassifier, FastBPRegressor  # noqa: E402


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# ------------------------------------------------------------------ scikit-learn's checks
@parametrize_with_checks([FastBPClassifier(), FastBPRegressor()])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


# ------------------------------------------------------------------ data
def blobs(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    k = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)  # 3 classes
    return X, k


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


# ------------------------------------------------------------------ the ecosystem
def test_pipeline_digits_defaults(digits):
    Xtr, Xte, ytr, yte = digits
    model = make_pipeline(StandardScaler(), FastBPClassifier(random_state=0)).fit(Xtr, ytr)
    assert model.score(Xte, yte) > 0.95
    P = model.predict_proba(Xte)
    assert P.shape == (len(Xte), 10) and np.allclose(P.sum(axis=1), 1)


def test_raw_digits_defaults(digits):
    Xtr, Xte, ytr, yte = digits  # pixel values 0 .. 16, not scaled
    assert FastBPClassifier(random_state=0).fit(Xtr, ytr).score(Xte, yte) > 0.95


def test_grid_search_and_cross_val_score():
    X, y = blobs()
    grid = GridSearchCV(FastBPClassifier(max_iter=20, random_state=0),
                        {"hidden_layer_sizes": [(8,), (16,)], "learning_rate_init": [0.01, 0.03]},
                        cv=3).fit(X, y)
    assert set(grid.best_params_) == {"hidden_layer_sizes", "learning_rate_init"}
    assert grid.best_score_ > 0.8 and grid.score(X, y) > 0.8
    scores = cross_val_score(FastBPRegressor(max_iter=30, random_state=0), X,
                             X @ [1.0, -2.0, 0.5, 0.0] + 100, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.8


def test_clone_keeps_params_drops_fit():
    est = FastBPClassifier(hidden_layer_sizes=(7, 5), activation="logistic", alpha=0.01,
                           max_iter=3, random_state=1)
    est.fit(*blobs())
    twin = clone(est)
    assert twin.get_params() == est.get_params()
    assert not hasattr(twin, "network_")
    with pytest.raises(NotFittedError):
        twin.predict(blobs()[0])


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_pickle_and_joblib_round_trip(dump):
    X, y = blobs()
    est = FastBPClassifier(solver="adam", max_iter=5, random_state=0).fit(X, y)
    if dump == "pickle":
        back = pickle.loads(pickle.dumps(est))
    else:
        buf = io.BytesIO()
        joblib.dump(est, buf)
        buf.seek(0)
        back = joblib.load(buf)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(back.network_.theta, est.network_.theta)
    # the copy owns its theta and carries the optimiser state: training goes on identically
    assert not np.shares_memory(back.network_.theta, est.network_.theta)
    est.partial_fit(X, y)
    back.partial_fit(X, y)
    np.testing.assert_array_equal(back.network_.theta, est.network_.theta)
    assert back.loss_curve_ == est.loss_curve_


# ------------------------------------------------------------------ labels and targets
@pytest.mark.parametrize("kind", ["strings", "plus_minus_one", "one_based", "categorical",
                                  "object"])
def test_labels_of_any_type(kind):
    X, k = blobs()
    if kind == "strings":
        y, classes = np.array(["cat", "dog", "eel"])[k], ["cat", "dog", "eel"]
    elif kind == "plus_minus_one":
        k = np.where(X[:, 0] > 0, 1, -1)
        y, classes = k, [-1, 1]
    elif kind == "one_based":
        y, classes = k + 1, [1, 2, 3]
    elif kind == "categorical":
        pd = pytest.importorskip("pandas")
        y = pd.Categorical(np.array(["lo", "mid", "hi"])[k], categories=["lo", "mid", "hi"])
        classes = ["hi", "lo", "mid"]  # sorted, as every scikit-learn classifier
    else:
        y, classes = np.array(["a", "b", "c"], dtype=object)[k], ["a", "b", "c"]
    est = FastBPClassifier(max_iter=40, random_state=0).fit(X, y)
    assert list(est.classes_) == classes
    pred = est.predict(X)
    assert set(pred) <= set(est.classes_)
    assert est.score(X, y) > 0.85
    P = est.predict_proba(X)
    assert P.shape == (len(X), len(est.classes_))
    np.testing.assert_array_equal(est.classes_[P.argmax(axis=1)], pred)
    with np.errstate(divide="ignore"):
        np.testing.assert_array_equal(est.predict_log_proba(X), np.log(P))


def test_binary_uses_one_sigmoid_unit():
    X, _ = blobs()
    y = np.where(X[:, 0] > 0, "yes", "no")
    est = FastBPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0).fit(X, y)
    assert est.network_.sizes[-1] == 1 and est.out_activation_ == "logistic"
    p = est.network_.predict(X)[:, 0]
    np.testing.assert_array_equal(est.predict_proba(X), np.c_[1 - p, p])
    np.testing.assert_array_equal(est.predict(X), np.where(p > 0.5, "yes", "no"))


def test_multilabel():
    X, _ = blobs()
    Y = np.c_[X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 1] > 1].astype(int)
    est = FastBPClassifier(max_iter=60, random_state=0).fit(X, Y)
    assert est.network_.output == "sigmoid" and est.network_.sizes[-1] == 3
    pred = est.predict(X)
    assert pred.shape == Y.shape and set(np.unique(pred)) <= {0, 1}
    P = est.predict_proba(X)
    assert P.shape == Y.shape and not np.allclose(P.sum(axis=1), 1)
    assert est.score(X, Y) > 0.8  # subset accuracy


def test_multi_output_regression_raw_scale():
    X, _ = blobs(200)
    Y = np.c_[1000 * X[:, 0] + 5000, -0.01 * X[:, 1], X[:, 2] * X[:, 3]]
    est = FastBPRegressor(max_iter=100, random_state=0).fit(X, Y)
    assert est.predict(X).shape == Y.shape
    assert est.y_mean_.shape == est.y_scale_.shape == (3,)
    assert est.score(X, Y) > 0.9
    np.testing.assert_allclose(est.predict(X), est.network_.predict(X) * est.y_scale_
                               + est.y_mean_)


def test_diabetes_raw_targets_train_finite():
    X, y = load_diabetes(return_X_y=True)  # targets 25 .. 346
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=0)
    est = FastBPRegressor(random_state=0).fit(Xtr, ytr)
    assert np.isfinite(est.network_.theta).all() and np.isfinite(est.loss_curve_).all()
    assert est.score(Xte, yte) > 0.3
    # even a learning rate ten times the default stays finite on the raw targets
    est = FastBPRegressor(learning_rate_init=0.01, random_state=0).fit(Xtr, ytr)
    assert np.isfinite(est.predict(Xte)).all()


# ------------------------------------------------------------------ partial_fit
@pytest.mark.parametrize("solver", ["adam", "nesterov", "sgd"])
@pytest.mark.parametrize("Est", [FastBPClassifier, FastBPRegressor])
def test_two_partial_fits_are_two_epochs_of_fit_bit_for_bit(Est, solver):
    X, k = blobs()
    y = k if Est is FastBPClassifier else X @ [3.0, -1.0, 2.0, 0.5] + 40
    params = dict(solver=solver, learning_rate_init=0.01, random_state=3)
    whole = Est(max_iter=2, **params).fit(X, y)
    online = Est(**params)
    extra = {"classes": np.unique(k)} if Est is FastBPClassifier else {}
    online.partial_fit(X, y, **extra)
    online.partial_fit(X, y)
    np.testing.assert_array_equal(online.network_.theta, whole.network_.theta)
    assert online.loss_curve_ == whole.loss_curve_ and online.n_iter_ == whole.n_iter_ == 2
    assert online.t_ == whole.t_ == 2 * len(X)
    if solver == "adam":  # Adam's step count went on across the calls: one step per example
        assert online._opt_state.t[0] == whole._opt_state.t[0] == 2 * len(X)


def test_partial_fit_continues_fit_and_keeps_the_moments():
    X, k = blobs()
    est = FastBPClassifier(solver="momentum", max_iter=3, shuffle=False, random_state=0)
    est.fit(X, k)
    theta, velocity = est.network_.theta.copy(), est._opt_state.m.copy()
    assert np.abs(velocity).max() > 0
    est.partial_fit(X[:10], k[:10])
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4 and est.t_ == 3 * len(X) + 10
    # ten per-example momentum steps (scikit-learn's rule) from fit's last velocity
    ref = fastbp.Network(est.network_.sizes, hidden="relu", output="softmax")
    ref.theta, m = theta, velocity
    for i in range(10):
        m = est.momentum * m - est.learning_rate_init * ref.gradient(X[i:i + 1], k[i:i + 1],
                                                                    l2=est.alpha)
        ref.theta = ref.theta + m
    np.testing.assert_allclose(est.network_.theta, ref.theta, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(est._opt_state.m, m, rtol=1e-10, atol=1e-12)


def test_partial_fit_needs_classes_first_and_checks_labels():
    X, k = blobs()
    est = FastBPClassifier()
    with pytest.raises(ValueError, match="classes must be passed"):
        est.partial_fit(X, k)
    est.partial_fit(X[:5], k[:5], classes=[0, 1, 2, 3])
    assert list(est.classes_) == [0, 1, 2, 3] and est.network_.sizes[-1] == 4
    with pytest.raises(ValueError, match="not among classes_"):
        est.partial_fit(X[:5], k[:5] + 7)
    with pytest.raises(ValueError, match="features"):
        est.partial_fit(X[:5, :3], k[:5])
    # a multilabel y needs no classes
    FastBPClassifier().partial_fit(X, np.c_[k > 0, k > 1].astype(int))


# ------------------------------------------------------------------ parameters
def test_alpha_is_l2_over_batch_size():
    """alpha in scikit-learn's convention: a step adds alpha * W / b to the mean gradient of
    b rows, i.e. fastbp's l2 = alpha / batch_size."""
    X, _ = blobs(40)
    y = X @ [1.0, 2.0, 0.0, -1.0]
    for batch in (1, 4):
        est = FastBPRegressor(hidden_layer_sizes=(5,), activation="tanh", solver="sgd",
                              alpha=0.8, batch_size=batch, learning_rate_init=0.05,
                              max_iter=3, shuffle=False, random_state=0).fit(X, y)
        ref = fastbp.Network(est.network_.sizes, hidden="tanh", output="identity",
                             seed=np.random.RandomState(0).randint(np.iinfo(np.int32).max))
        Y = ((y - est.y_mean_) / est.y_scale_)[:, None]
        h = ref.fit(X, Y, epochs=3, lr=0.05, batch_size=batch, l2=0.8 / batch, shuffle=False)
        np.testing.assert_array_equal(est.network_.theta, ref.theta)
        assert est.loss_curve_ == h.loss


def test_coefs_are_views_in_sklearn_orientation():
    X, k = blobs()
    est = FastBPClassifier(hidden_layer_sizes=(6, 5), max_iter=3, random_state=0).fit(X, k)
    assert [c.shape for c in est.coefs_] == [(4, 6), (6, 5), (5, 3)]
    assert [b.shape for b in est.intercepts_] == [(6,), (5,), (3,)]
    theta = est.network_.theta
    assert all(np.shares_memory(a, theta) for a in est.coefs_ + est.intercepts_)
    np.testing.assert_array_equal(est.coefs_[0], est.network_.weights[0].T)
    est.coefs_[-1][:] = 0.0
    est.intercepts_[-1][:] = [0.0, 5.0, 0.0]  # every row now predicts class 1
    assert (est.predict(X) == 1).all()


def test_activation_names_and_dtype():
    X, k = blobs()
    for name, fastbp_name in [("logistic", "sigmoid"), ("tanh", "tanh"), ("identity", "identity"),
                              ("elu", "elu")]:
        est = FastBPClassifier(activation=name, hidden_layer_sizes=(4,), max_iter=2).fit(X, k)
        assert est.network_.hidden == (fastbp_name,)
    est = FastBPClassifier(dtype="float32", max_iter=5, random_state=0).fit(X, k)
    assert est.network_.dtype == np.float32 and est.predict_proba(X).dtype == np.float32
    with pytest.raises(ValueError, match="activation"):
        FastBPClassifier(activation="swish").fit(X, k)
    with pytest.raises(ValueError, match="solver"):
        FastBPClassifier(solver="lbfgs").fit(X, k)
    with pytest.raises(ValueError, match="learning_rate_init"):
        FastBPClassifier(learning_rate_init=-1.0).fit(X, k)


def test_early_stopping_and_tol_stop():
    X, y = load_diabetes(return_X_y=True)
    est = FastBPRegressor(early_stopping=True, max_iter=500, random_state=0).fit(X, y)
    h = est.history_
    assert h.stopped_early and est.n_iter_ < 500 and len(h.val_loss) == est.n_iter_
    # the kept epoch: within tol of the lowest validation loss, none better by more than tol
    assert h.val_loss[h.best_epoch - 1] <= min(h.val_loss) + est.tol
    assert est.n_iter_ == h.best_epoch + est.n_iter_no_change
    # without early stopping: the training loss's tol rule ends the fit before max_iter
    est = FastBPRegressor(tol=1.0, n_iter_no_change=3, random_state=0).fit(X, y)
    assert est.n_iter_ == 1 + 3 and est.history_.stopped_early  # the first epoch improves on inf
    with pytest.warns(ConvergenceWarning):
        with warnings.catch_warnings():
            warnings.simplefilter("always", ConvergenceWarning)
            FastBPRegressor(max_iter=2).fit(X, y)


def test_feature_names_from_pandas():
    pd = pytest.importorskip("pandas")
    X, k = blobs()
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    est = FastBPClassifier(max_iter=3).fit(df, k)
    assert list(est.feature_names_in_) == ["a", "b", "c", "d"] and est.n_features_in_ == 4
    with pytest.warns(UserWarning, match="feature names"):
        est.predict(X)


def test_a_diverging_fit_leaves_the_estimator_unfitted_and_partial_fit_unchanged():
    X, _ = blobs()
    y = X[:, 0] * 10
    est = FastBPRegressor(max_iter=5, random_state=0).fit(X, y)
    theta = est.network_.theta.copy()
    with pytest.raises(fastbp.DivergenceError):
        est.set_params(learning_rate_init=1e8).partial_fit(X, y)
    np.testing.assert_array_equal(est.network_.theta, theta)  # restored
    assert est.n_iter_ == 5
    with pytest.raises(fastbp.DivergenceError):
        est.fit(X, y)
    assert not hasattr(est, "network_")
    with pytest.raises(NotFittedError):
        est.predict(X)


# ------------------------------------------------------------------ model files
def _fitted(kind):
    X, k = blobs()
    if kind == "strings":
        return FastBPClassifier(solver="adam", max_iter=4, random_state=0), X, \
            np.array(["cat", "dog", "eel"], dtype=object)[k]
    if kind == "binary":
        return FastBPClassifier(hidden_layer_sizes=(5, 4), activation="tanh", max_iter=4,
                                random_state=0), X, np.where(k > 0, 1, -1)
    if kind == "multilabel":
        return FastBPClassifier(solver="nesterov", max_iter=4, random_state=0), X, \
            np.c_[k > 0, k > 1].astype(int)
    if kind == "regressor":
        return FastBPRegressor(solver="momentum", max_iter=4, random_state=0), X, \
            X @ [30.0, -10.0, 5.0, 0.0] + 200
    return FastBPRegressor(dtype="float32", max_iter=4, random_state=0), X, \
        np.c_[X[:, 0] * 100, X[:, 1]]


@pytest.mark.parametrize("kind", ["strings", "binary", "multilabel", "regressor",
                                  "regressor2_f32"])
def test_save_and_load_round_trip_bit_for_bit(tmp_path, kind):
    est, X, y = _fitted(kind)
    est.fit(X, y)
    path = est.save(tmp_path / "model.npz")
    back = fastbp.load(path)
    assert type(back) is type(est) and back.get_params() == est.get_params()
    np.testing.assert_array_equal(back.network_.theta, est.network_.theta)
    np.testing.assert_array_equal(back.predict(X), est.predict(X))
    if isinstance(est, FastBPClassifier):
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
        np.testing.assert_array_equal(back.classes_, est.classes_)
    assert back.loss_curve_ == est.loss_curve_ and back.n_iter_ == est.n_iter_
    assert back.history_.loss == est.history_.loss
    assert type(est).load(path).n_features_in_ == 4
    # resumed training: the optimiser state and the shuffles' generator came along
    for _ in range(2):
        est.partial_fit(X, y)
        back.partial_fit(X, y)
    np.testing.assert_array_equal(back.network_.theta, est.network_.theta)
    assert back.loss_curve_ == est.loss_curve_


def test_save_keeps_feature_names(tmp_path):
    pd = pytest.importorskip("pandas")
    X, k = blobs()
    est = FastBPClassifier(max_iter=2).fit(pd.DataFrame(X, columns=list("abcd")), k)
    back = fastbp.load(est.save(tmp_path / "m.npz"))
    assert list(back.feature_names_in_) == list("abcd")
    with pytest.warns(UserWarning, match="feature names"):
        back.predict(X)


def test_save_needs_a_fitted_estimator(tmp_path):
    with pytest.raises(NotFittedError):
        FastBPRegressor().save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def _tamper(path, change):
    """Rewrite a valid model file with ``change(meta, arrays)`` applied (a valid checksum:
    the estimator's own checks must catch it)."""
    from fastbp import io as fio
    kind, meta, arrays = fio.read(path)
    change(meta, arrays)
    fio.write(path, kind, meta, arrays)


@pytest.mark.parametrize("change, problem", [
    (lambda m, a: m["estimator"].update(n_features_in=5), "n_features_in"),
    (lambda m, a: m["estimator"]["params"].update(hidden_layer_sizes=[7]), "do not describe"),
    (lambda m, a: m["estimator"]["params"].update(bogus=1), "params"),
    (lambda m, a: m["estimator"].update(optimizer="rmsprop"), "optimizer"),
    (lambda m, a: m["estimator"].update(y_type="continuous"), "target type"),
    (lambda m, a: a.update(classes=np.array(["b", "a", "c"])), "sorted"),
    (lambda m, a: a.update(classes=np.array(["a", "b"])), "do not fit"),
    (lambda m, a: a.update({"opt.m": np.zeros(3)}), "opt.m"),
    (lambda m, a: a.update(extra=np.zeros(2)), "unexpected arrays"),
    (lambda m, a: a.pop("loss_curve"), "loss_curve"),
])
def test_load_refuses_inconsistent_estimator_files(tmp_path, change, problem):
    X, k = blobs()
    path = FastBPClassifier(solver="adam", max_iter=2).fit(X, k).save(tmp_path / "m.npz")
    _tamper(path, change)
    with pytest.raises(fastbp.ModelFileError, match=problem) as info:
        fastbp.load(path)
    assert str(path) in str(info.value)


def test_load_refuses_a_bad_regressor_scale_and_the_wrong_kind(tmp_path):
    X, _ = blobs()
    path = FastBPRegressor(max_iter=2).fit(X, X[:, 0]).save(tmp_path / "r.npz")
    with pytest.raises(fastbp.ModelFileError, match="not a FastBPClassifier"):
        FastBPClassifier.load(path)
    _tamper(path, lambda m, a: a.update(y_scale=np.zeros(1)))
    with pytest.raises(fastbp.ModelFileError, match="y_scale"):
        fastbp.load(path)
    net_path = fastbp.Network([4, 3, 1]).save(tmp_path / "n.npz")
    with pytest.raises(fastbp.ModelFileError, match="holds a Network"):
        FastBPRegressor.load(net_path)
