"""Issue 10, part 4: ONNX export (fastbp.onnx), run with onnxruntime against predict.

Agreement is measured relative to the largest output: |onnx - predict| <= rtol * max|predict|
element by element, rtol 1e-6 in float32 and 1e-12 in float64. Not relative to each element:
onnxruntime's Sigmoid is accurate in absolute terms only (float32: ~1e-7, 0 below
z = -15.8; float64: ~1e-16, 0 below z = -36.7; fastbp returns the tail), its float32
Tanh, Softmax and Elu are approximations with ~3e-7 absolute error, and a Gemm sums in
another order than fastbp's kernel, which no elementwise bound covers once a sum cancels.
The float64 graphs spell leaky_relu, elu and softplus with elementary operators (ONNX's
LeakyRelu slope is a float32 attribute; onnxruntime has no float64 Elu or Softplus kernel):
every activation is tested in both dtypes, and those three elementwise to a few ulps too.
"""
import json
import os
import warnings

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import fastbp  # noqa: E402
from fastbp import onnx as fonnx  # noqa: E402

HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "identity"]
OUTPUT = ["sigmoid", "softmax", "identity", "tanh"]
RTOL = {"float32": 1e-6, "float64": 1e-12}


def run(path, X):
    sess = ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
    (Y,) = sess.run(["Y"], {"X": X})
    return Y


def assert_close(got, want, rtol):
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


def data(n_in, dtype, n=200, seed=0):
    return np.random.default_rng(seed).normal(size=(n, n_in)).astype(dtype)


def check_network(net, path, X=None):
    X = data(net.sizes[0], net.dtype) if X is None else X
    assert fonnx.export(net, path) == path
    got = run(path, X)
    assert got.dtype == net.dtype
    assert_close(got, net.predict(X), RTOL[net.dtype.name])
    return got


# ------------------------------------------------------------------ every activation pair
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUT)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_every_activation(hidden, output, dtype, tmp_path):
    net = fastbp.Network([5, 16, 12, 3], hidden=hidden, output=output, dtype=dtype, seed=1)
    check_network(net, tmp_path / "m.onnx")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_deeper_mixed_network(dtype, tmp_path):
    net = fastbp.Network([8, 32, 24, 16, 16, 12, 10, 4],
                         hidden=["relu", "elu", "softplus", "leaky_relu", "tanh", "sigmoid"],
                         output="softmax", dtype=dtype, seed=3)
    check_network(net, tmp_path / "deep.onnx")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("output", OUTPUT)
def test_no_hidden_layer(output, dtype, tmp_path):
    net = fastbp.Network([4, 3], output=output, dtype=dtype, seed=2)
    check_network(net, tmp_path / "linear.onnx")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_trained_network(dtype, tmp_path):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(300, 6)).astype(dtype)
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0)
    net = fastbp.Network([6, 20, 10, 3], hidden=["tanh", "elu"], output="softmax",
                         dtype=dtype, seed=0)
    net.fit(X, y, epochs=20, lr=0.05, seed=0)
    check_network(net, tmp_path / "trained.onnx", X)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("hidden", ["leaky_relu", "elu", "softplus", "sigmoid", "tanh", "relu"])
def test_activation_elementwise(hidden, dtype, tmp_path):
    """Identity weights and zero biases make the network's output g(x) itself: the
    activation compared element by element over a wide range, tails and zero included.
    float64 to a few ulps (the spelled-out forms, and Tanh, Relu); float32 and the tails of
    onnxruntime's Sigmoid (absolutely accurate only) to an absolute 3e-7."""
    z = np.concatenate([-np.logspace(-300, 2.85, 300), [0.0, -0.0], np.logspace(-300, 2.85, 300)])
    if dtype == "float32":
        z = z[np.abs(z) < 80]
    k = 4
    X = z[: len(z) // k * k].reshape(-1, k).astype(dtype)
    net = fastbp.Network([k, k, k], hidden=hidden, output="identity", dtype=dtype, seed=0)
    for W, b in zip(net.weights, net.biases):
        W[:] = np.eye(k)
        b[:] = 0
    got, want = run(_export(net, tmp_path), X), net.predict(X)
    if dtype == "float64" and hidden != "sigmoid":
        np.testing.assert_allclose(got, want, rtol=4 * np.finfo(np.float64).eps, atol=0)
    else:
        np.testing.assert_allclose(got, want, rtol=3e-7, atol=3e-7)


def _export(model, tmp_path, name="m.onnx", **kw):
    return fonnx.export(model, tmp_path / name, **kw)


# ------------------------------------------------------------------ the graph
def test_graph_layout(tmp_path):
    net = fastbp.Network([5, 7, 3], hidden="tanh", output="softmax", dtype="float32", seed=0)
    model = onnx.load(_export(net, tmp_path))
    onnx.checker.check_model(model, full_check=True)
    assert [op.domain for op in model.opset_import] == [""]
    assert model.opset_import[0].version == fonnx.DEFAULT_OPSET == 17
    assert model.ir_version == 8  # the oldest IR for opset 17: older runtimes load it
    assert model.producer_name == "fastbp"
    g = model.graph
    assert [n.op_type for n in g.node] == ["Gemm", "Tanh", "Gemm", "Softmax"]
    gemm = g.node[0]
    assert {a.name: onnx.helper.get_attribute_value(a) for a in gemm.attribute} == {"transB": 1}
    assert [i.name for i in g.input] == ["X"] and [o.name for o in g.output] == ["Y"]
    assert g.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    dims = [d.dim_param or d.dim_value for d in g.input[0].type.tensor_type.shape.dim]
    assert dims == ["N", 5]
    dims = [d.dim_param or d.dim_value for d in g.output[0].type.tensor_type.shape.dim]
    assert dims == ["N", 3]
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    for l in range(2):  # W^l as fastbp stores it, (n_out, n_in), bit for bit
        assert inits[f"W{l}"].dtype == np.float32
        assert np.array_equal(inits[f"W{l}"], net.weights[l])
        assert np.array_equal(inits[f"b{l}"], net.biases[l])
    softmax = g.node[3]
    assert onnx.helper.get_attribute_value(softmax.attribute[0]) == -1
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["model"] == "Network" and meta["sizes"] == "[5, 7, 3]"
    assert meta["activations"] == '["tanh", "softmax"]' and meta["dtype"] == "float32"
    assert meta["fastbp_version"] == fastbp.__version__


def test_float32_ops_and_attributes(tmp_path):
    net = fastbp.Network([3, 4, 4, 4, 2], hidden=["leaky_relu", "elu", "softplus"],
                         output="sigmoid", dtype="float32", seed=0)
    g = onnx.load(_export(net, tmp_path)).graph
    ops = [n.op_type for n in g.node]
    assert ops == ["Gemm", "LeakyRelu", "Gemm", "Elu", "Gemm", "Softplus", "Gemm", "Sigmoid"]
    attrs = {n.op_type: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
             for n in g.node}
    assert attrs["LeakyRelu"]["alpha"] == pytest.approx(0.01)  # fastbp's LEAKY_SLOPE
    assert attrs["Elu"]["alpha"] == 1.0  # fastbp's ELU_ALPHA


def test_float64_spells_out_what_onnxruntime_lacks(tmp_path):
    net = fastbp.Network([3, 4, 4, 4, 2], hidden=["leaky_relu", "elu", "softplus"],
                         output="softmax", dtype="float64", seed=0)
    g = onnx.load(_export(net, tmp_path)).graph
    ops = {n.op_type for n in g.node}
    assert not ops & {"LeakyRelu", "Elu", "Softplus"}
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in g.initializer}
    assert inits["layer1/slope"] == 0.01 and inits["layer1/slope"].dtype == np.float64


@pytest.mark.parametrize("opset", [13, 15])
def test_older_opsets_run(opset, tmp_path):
    net = fastbp.Network([4, 6, 3], hidden="softplus", output="softmax", dtype="float64",
                         seed=0)
    path = _export(net, tmp_path, opset=opset)
    model = onnx.load(path)
    assert model.opset_import[0].version == opset
    assert model.ir_version == onnx.helper.find_min_ir_version_for(model.opset_import)
    X = data(4, np.float64)
    assert_close(run(path, X), net.predict(X), 1e-12)


def test_newest_opset_passes_the_checker(tmp_path):
    newest = onnx.defs.onnx_opset_version()
    net = fastbp.Network([4, 6, 3], hidden="elu", dtype="float32", seed=0)
    model = onnx.load(_export(net, tmp_path, opset=np.int64(newest)))
    assert model.opset_import[0].version == newest
    onnx.checker.check_model(model, full_check=True)


# ------------------------------------------------------------------ the file
def test_written_atomically(tmp_path):
    net = fastbp.Network([4, 6, 3], seed=0)
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old model")
    # a bad argument is refused before anything is written
    with pytest.raises(ValueError, match="opset"):
        fonnx.export(net, path, opset=5)
    assert path.read_bytes() == b"old model"
    # success replaces the file, through a str path too, and leaves no temporary file
    assert fonnx.export(net, str(path)) == str(path)
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]
    X = data(4, np.float64)
    assert_close(run(path, X), net.predict(X), 1e-12)


def test_write_failure_keeps_old_file(tmp_path, monkeypatch):
    """A crash inside the write itself (after the temporary file exists)."""
    from fastbp import io as fio
    net = fastbp.Network([4, 6, 3], seed=0)
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old model")

    def failing_fsync(fd):
        raise OSError("fsync failed")
    with monkeypatch.context() as m:
        m.setattr(fio.os, "fsync", failing_fsync)
        with pytest.raises(OSError, match="fsync failed"):
            fonnx.export(net, path)
    assert path.read_bytes() == b"old model"
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("model", [None, "net.onnx", np.zeros(3), object()])
def test_not_a_network(model, tmp_path):
    with pytest.raises(TypeError, match="model must be a fastbp.Network"):
        fonnx.export(model, tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)


def test_network_attribute_of_the_wrong_type(tmp_path):
    class Holder:
        network_ = "not a network"
    with pytest.raises(TypeError, match="model.network_ must be a fastbp.Network"):
        fonnx.export(Holder(), tmp_path / "m.onnx")


def test_any_object_holding_a_network(tmp_path):
    class Holder:
        pass
    h = Holder()
    h.network_ = fastbp.Network([3, 5, 2], hidden="relu", output="sigmoid", seed=0)
    path = _export(h, tmp_path)
    X = data(3, np.float64)
    assert_close(run(path, X), h.network_.predict(X), 1e-12)
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert meta["model"] == "Holder"


@pytest.mark.parametrize("path", [None, 3, b"m.onnx"])
def test_bad_path(path):
    net = fastbp.Network([3, 2], seed=0)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        fonnx.export(net, path)


@pytest.mark.parametrize("opset", [True, 17.0, "17"])
def test_opset_of_the_wrong_type(opset, tmp_path):
    net = fastbp.Network([3, 2], seed=0)
    with pytest.raises(TypeError, match="opset must be an int or None"):
        fonnx.export(net, tmp_path / "m.onnx", opset=opset)


@pytest.mark.parametrize("opset", [0, 12, 10**6])
def test_opset_out_of_range(opset, tmp_path):
    net = fastbp.Network([3, 2], seed=0)
    with pytest.raises(ValueError, match="opset must be between 13 and"):
        fonnx.export(net, tmp_path / "m.onnx", opset=opset)
    assert not os.listdir(tmp_path)


# ------------------------------------------------------------------ the estimators
@pytest.fixture
def estimators():
    pytest.importorskip("sklearn")
    from sklearn.exceptions import ConvergenceWarning

    from fastbp import sklearn as fsk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield fsk


def _xy(n=150, n_in=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, n_in)), rng


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("kind", ["binary", "multiclass", "multilabel"])
def test_classifier_exports_predict_proba(kind, dtype, estimators, tmp_path):
    X, rng = _xy()
    if kind == "binary":
        y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    elif kind == "multiclass":
        y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]
    else:
        y = np.column_stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 2] > 0.5]).astype(int)
    clf = estimators.FastBPClassifier(hidden_layer_sizes=(8, 6), activation="tanh",
                                      max_iter=5, random_state=0, dtype=dtype).fit(X, y)
    path = _export(clf, tmp_path)
    Xd = X.astype(dtype)
    P = run(path, Xd)
    want = clf.predict_proba(X)
    assert P.dtype == want.dtype == np.dtype(dtype)
    assert_close(P, want, RTOL[dtype])
    model = onnx.load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["model"] == "FastBPClassifier"
    assert meta["classes"] == json.dumps(clf.classes_.tolist())
    # label decoding, outside the graph, gives predict
    if kind == "multilabel":
        labels = (P > 0.5).astype(int)
    else:
        labels = clf.classes_[np.argmax(P, axis=1)]
    assert np.array_equal(labels, clf.predict(X))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_exports_predict(n_outputs, dtype, estimators, tmp_path):
    X, rng = _xy()
    Y = np.column_stack([300 * X[:, 0] + 150, X[:, 1] * X[:, 2] - 7])[:, :n_outputs]
    y = Y[:, 0] if n_outputs == 1 else Y
    reg = estimators.FastBPRegressor(hidden_layer_sizes=(10,), max_iter=5, random_state=0,
                                     dtype=dtype).fit(X, y)
    path = _export(reg, tmp_path)
    got = run(path, X.astype(dtype))
    want = reg.predict(X)
    assert got.dtype == want.dtype == np.float64  # predict de-standardises in float64
    assert_close(got, want.reshape(len(X), n_outputs), RTOL[dtype])
    # the network alone predicts the standardised targets
    path = _export(reg.network_, tmp_path, "net.onnx")
    assert_close(run(path, X.astype(dtype)), reg.network_.predict(X.astype(dtype)),
                 RTOL[dtype])


def test_unfitted_estimator(estimators, tmp_path):
    from sklearn.exceptions import NotFittedError
    for est in (estimators.FastBPClassifier(), estimators.FastBPRegressor()):
        with pytest.raises(NotFittedError, match="model: this .* is not fitted") as info:
            fonnx.export(est, tmp_path / "m.onnx")
        assert isinstance(info.value, ValueError)
    assert not os.listdir(tmp_path)


def test_other_estimators_are_refused(estimators, tmp_path):
    from sklearn.linear_model import LogisticRegression
    X, _ = _xy()
    lr = LogisticRegression().fit(X, X[:, 0] > 0)
    with pytest.raises(TypeError, match="model must be a fastbp.Network .* LogisticRegression"):
        fonnx.export(lr, tmp_path / "m.onnx")


def test_too_large_for_one_file(tmp_path, monkeypatch):
    net = fastbp.Network([30, 20, 3], seed=0)
    monkeypatch.setattr(fonnx, "_MAX_BYTES", net.theta.nbytes)  # stands in for protobuf's 2 GiB
    with pytest.raises(ValueError, match="more than one ONNX file holds"):
        fonnx.export(net, tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)


def test_estimator_loaded_from_a_model_file(estimators, tmp_path):
    X, _ = _xy()
    y = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] > 0)]
    clf = estimators.FastBPClassifier(hidden_layer_sizes=(8,), max_iter=3,
                                      random_state=0).fit(X, y)
    clf.save(tmp_path / "clf.fastbp")
    loaded = fastbp.load(tmp_path / "clf.fastbp")
    path = _export(loaded, tmp_path)
    assert_close(run(path, X), clf.predict_proba(X), 1e-12)
