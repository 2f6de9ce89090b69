"""ONNX export: ``fastbp.onnx.export(model, path)`` writes a network as an ONNX model.

Needs onnx (``pip install "fastbp[onnx]"``, which also installs onnxruntime to run the
file). The graph takes ``X``, shape (N, n_inputs), of the network's dtype, and gives ``Y``;
per weight layer one ``Gemm`` (``X @ W^l.T + b^l``, ``transB=1``: W^l is stored as fastbp
holds it, (n_out, n_in)) and the layer's activation:

=========== ================================ =========================================
fastbp      float32 graph                    float64 graph
=========== ================================ =========================================
sigmoid     Sigmoid                          Sigmoid
tanh        Tanh                             Tanh
relu        Relu                             Relu
leaky_relu  LeakyRelu(alpha=0.01)            Where(z > 0, z, 0.01 * z)
elu         Elu(alpha=1)                     Where(z > 0, z, expm1(z)),
                                             expm1(z) = 2t / (1 - t), t = tanh(z / 2)
softplus    Softplus                         Relu(z) + log1p(exp(-|z|)), log1p(u) =
                                             u if 1 + u == 1 else log(1 + u) * u / ((1 + u) - 1)
identity    (none)                           (none)
softmax     Softmax(axis=-1)                 Softmax(axis=-1)
=========== ================================ =========================================

The float64 graph spells three activations with elementary operators: ONNX's LeakyRelu
takes its slope as a float32 attribute (0.01 in float32 is 0.00999999977...), and
onnxruntime has no float64 kernel for Elu or Softplus. The spelled-out forms are the same
functions, computed without cancellation (expm1 and log1p to a few ulps).
"""
import json
import os
import sys

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper, numpy_helper
except ImportError as exc:  # pragma: no cover - the extra is missing
    raise ImportError('fastbp.onnx needs onnx: pip install "fastbp[onnx]"') from exc

from . import activations as act
from .network import Network

__all__ = ["export", "DEFAULT_OPSET", "MIN_OPSET"]

#: The opset ``export`` writes unless told otherwise (onnxruntime >= 1.13 runs it).
DEFAULT_OPSET = 17
#: The oldest opset ``export`` writes (Softmax over the last axis as defined since opset 13).
MIN_OPSET = 13

# protobuf cannot serialise a message of 2 GiB or more
_MAX_BYTES = 2**31 - 2**24

_ELEM = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}


def export(model, path, opset=None):
    """Write ``model`` to ``path`` as an ONNX model (atomically) and return ``path``.

    Parameters
    ----------
    model : fastbp.Network, or an object with a fitted ``network_`` attribute
        A ``Network``, or an estimator of ``fastbp.sklearn`` (or any object whose
        ``network_`` is a ``Network``).
    path : str or os.PathLike
        The file to write; it is written next to itself under a temporary name, flushed,
        fsynced and renamed, so ``path`` is never left half-written.
    opset : int or None
        The ONNX opset (default ``DEFAULT_OPSET``, 17), from ``MIN_OPSET`` (13) to the
        newest the installed onnx knows. The file's IR version is the oldest that opset
        allows, so older runtimes load it too.

    The graph has one input ``X`` of shape (N, n_inputs) and the network's dtype, and one
    output ``Y`` of shape (N, n_outputs):

    - ``Network``: ``Y`` is ``net.predict(X)``.
    - ``FastBPClassifier``: ``Y`` is ``predict_proba(X)``, columns in the order of
      ``classes_`` (binary: ``[1 - p, p]``, two columns, from the network's one output).
      Label decoding is not in the graph: ``classes_[argmax(Y, axis=1)]`` (multilabel:
      ``Y > 0.5``) gives ``predict``. The labels are stored in the model's metadata
      (``metadata_props["classes"]``, JSON) when they are JSON values.
    - ``FastBPRegressor``: ``Y`` is ``predict(X)`` as a 2-D (N, n_outputs) float64 array:
      the graph maps the network's standardised output back with the estimator's
      documented ``y_scale_`` and ``y_mean_`` (``Y = out * y_scale_ + y_mean_``, in float64
      as ``predict`` computes it; ravel Y for a 1-D target).
    - any other object with a ``network_``: ``Y`` is ``model.network_.predict(X)``, with
      none of the object's own post-processing.

    onnxruntime agrees with ``predict`` to 1e-6 in float32 and 1e-12 in float64 relative to
    the largest output (``tests/test_onnx.py``; measured: at most 4e-7 and 1e-15). Small
    outputs can differ by more relative to themselves: onnxruntime's Sigmoid is accurate
    in absolute terms only (0 below z = -15.8 in float32, -36.7 in float64), and its
    float32 Tanh, Softmax and Elu are approximations (~3e-7 absolute).

    Raises TypeError if ``model`` is not a ``Network`` nor holds one in ``network_``, or
    if ``path`` or ``opset`` has the wrong type; ValueError (scikit-learn's
    ``NotFittedError`` for its estimators) if the estimator is not fitted, if ``opset`` is
    out of range, or if the network is too large for one ONNX file (2 GiB).
    """
    net, post = _network_of(model)
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    opset = _check_opset(opset)
    if net.theta.nbytes >= _MAX_BYTES:
        raise ValueError(f"model: the network's {net.n_params} parameters take "
                         f"{net.theta.nbytes} bytes, more than one ONNX file holds (2 GiB)")
    proto = _build(net, post, opset, model)
    data = proto.SerializeToString()

    from .io import atomic_write
    atomic_write(path, lambda f: f.write(data))
    return path


def _build(net, post=None, opset=DEFAULT_OPSET, model=None):
    """The checked ``onnx.ModelProto`` for ``net``, with the estimator post-processing
    ``post`` (``None``, ``("binary",)`` or ``("destandardise", y_scale, y_mean)``)."""
    dtype = net.dtype
    elem = _ELEM[dtype]
    g = _Graph(dtype)
    x = "X"
    n_layers = len(net.sizes) - 1
    names = tuple(net.hidden) + (net.output,)
    for l in range(n_layers):
        W, b = net.weights[l], net.biases[l]
        last = l == n_layers - 1
        out = "Y" if last and post is None else f"a{l + 1}"
        name = names[l]
        z = out if name == "identity" else f"z{l + 1}"
        g.node("Gemm", [g.const(f"W{l}", W), g.const(f"b{l}", b)], z, first=x, transB=1,
               name=f"layer{l + 1}/Gemm")
        if name != "identity":
            _activation(g, name, z, out, f"layer{l + 1}/")
        x = out

    out_elem, out_doc = elem, "the network's output (Network.predict)"
    if post is not None and post[0] == "binary":
        one = g.const("one", np.ones((), dtype=dtype))
        g.node("Sub", [one, x], "p0", name="proba/Sub")
        g.node("Concat", ["p0", x], "Y", axis=1, name="proba/Concat")
        out_doc = "class probabilities, columns in the order of classes_ (predict_proba)"
    elif post is not None and post[0] == "destandardise":
        _, scale, mean = post
        out_elem = TensorProto.DOUBLE
        src = x
        if dtype != np.float64:
            g.node("Cast", [x], "out64", to=TensorProto.DOUBLE, name="target/Cast")
            src = "out64"
        g.node("Mul", [src, g.const("y_scale", scale)], "scaled", name="target/Mul")
        g.node("Add", ["scaled", g.const("y_mean", mean)], "Y", name="target/Add")
        out_doc = "predicted targets, one column per output (predict)"

    n_out = net.sizes[-1] if post is None or post[0] != "binary" else 2
    graph = helper.make_graph(
        g.nodes, "fastbp",
        [helper.make_tensor_value_info("X", elem, ["N", net.sizes[0]])],
        [helper.make_tensor_value_info("Y", out_elem, ["N", n_out])],
        initializer=g.inits,
        doc_string=f"fastbp {type(model if model is not None else net).__name__}: "
                   f"X (N, {net.sizes[0]}) -> Y (N, {n_out}), {out_doc}")
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(graph, opset_imports=opsets, producer_name="fastbp",
                              producer_version=_version())
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    helper.set_model_props(proto, _metadata(net, model))
    onnx.checker.check_model(proto, full_check=True)
    return proto


# ---------------------------------------------------------------------- the graph
class _Graph:
    """Nodes and initializers under construction (initializers in the network's dtype
    unless given another)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.nodes, self.inits = [], []

    def const(self, name, value):
        arr = np.asarray(value)
        if arr.dtype not in _ELEM:
            arr = arr.astype(self.dtype)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def scalar(self, name, value):
        return self.const(name, np.asarray(value, dtype=self.dtype))

    def node(self, op, inputs, output, first=None, name=None, **attrs):
        inputs = ([first] if first is not None else []) + list(inputs)
        self.nodes.append(helper.make_node(op, inputs, [output], name=name, **attrs))
        return output


def _activation(g, name, z, out, p):
    """Nodes for ``out = g(z)``, fastbp's activation ``name`` (not identity); names of the
    intermediate values start with the prefix ``p``."""
    f64 = g.dtype == np.float64
    if name == "sigmoid":
        g.node("Sigmoid", [z], out, name=p + "Sigmoid")
    elif name == "tanh":
        g.node("Tanh", [z], out, name=p + "Tanh")
    elif name == "relu":
        g.node("Relu", [z], out, name=p + "Relu")
    elif name == "softmax":
        g.node("Softmax", [z], out, axis=-1, name=p + "Softmax")
    elif name == "leaky_relu" and not f64:
        g.node("LeakyRelu", [z], out, alpha=act.LEAKY_SLOPE, name=p + "LeakyRelu")
    elif name == "elu" and not f64:
        g.node("Elu", [z], out, alpha=act.ELU_ALPHA, name=p + "Elu")
    elif name == "softplus" and not f64:
        g.node("Softplus", [z], out, name=p + "Softplus")
    elif name == "leaky_relu":
        # z if z > 0 else slope * z, the slope in float64
        pos = g.node("Greater", [z, g.scalar(p + "zero", 0.0)], p + "pos", name=p + "Greater")
        neg = g.node("Mul", [z, g.scalar(p + "slope", act.LEAKY_SLOPE)], p + "neg",
                     name=p + "Mul")
        g.node("Where", [pos, z, neg], out, name=p + "Where")
    elif name == "elu":
        # z if z > 0 else alpha * expm1(z); expm1(z) = 2t / (1 - t) with t = tanh(z / 2):
        # no cancellation for z <= 0 (1 - t lies in [1, 2)), -1 in the limit
        pos = g.node("Greater", [z, g.scalar(p + "zero", 0.0)], p + "pos", name=p + "Greater")
        half = g.node("Mul", [z, g.scalar(p + "half", 0.5)], p + "half_z", name=p + "Mul")
        t = g.node("Tanh", [half], p + "t", name=p + "Tanh")
        two_t = g.node("Add", [t, t], p + "two_t", name=p + "Add")
        one_minus = g.node("Sub", [g.scalar(p + "one", 1.0), t], p + "one_minus_t",
                           name=p + "Sub")
        neg = g.node("Div", [two_t, one_minus], p + "expm1", name=p + "Div")
        if act.ELU_ALPHA != 1.0:
            neg = g.node("Mul", [neg, g.scalar(p + "alpha", act.ELU_ALPHA)], p + "neg",
                         name=p + "MulAlpha")
        g.node("Where", [pos, z, neg], out, name=p + "Where")
    elif name == "softplus":
        # max(z, 0) + log1p(exp(-|z|)); log1p(u) = u if 1 + u == 1 else
        # log(1 + u) * u / ((1 + u) - 1) (Goldberg, "What every computer scientist should
        # know about floating-point arithmetic", theorem 4)
        absz = g.node("Abs", [z], p + "abs", name=p + "Abs")
        nabs = g.node("Neg", [absz], p + "neg_abs", name=p + "Neg")
        u = g.node("Exp", [nabs], p + "u", name=p + "Exp")
        one = g.scalar(p + "one", 1.0)
        w = g.node("Add", [one, u], p + "w", name=p + "Add")
        tiny = g.node("Equal", [w, one], p + "tiny", name=p + "Equal")
        logw = g.node("Log", [w], p + "log_w", name=p + "Log")
        wm1 = g.node("Sub", [w, one], p + "w_minus_1", name=p + "Sub")
        ratio = g.node("Div", [u, wm1], p + "ratio", name=p + "Div")
        prod = g.node("Mul", [logw, ratio], p + "log1p_big", name=p + "Mul")
        l1p = g.node("Where", [tiny, u, prod], p + "log1p", name=p + "Where")
        rz = g.node("Relu", [z], p + "relu", name=p + "Relu")
        g.node("Add", [rz, l1p], out, name=p + "Sum")
    else:  # pragma: no cover - Network validates the names
        raise ValueError(f"no ONNX form for activation {name!r}")


# ---------------------------------------------------------------------- checks
def _network_of(model):
    """(Network, post-processing) for ``model``."""
    if isinstance(model, Network):
        return model, None
    sk = sys.modules.get("fastbp.sklearn")  # an estimator's class is loaded if one exists
    estimator = sk is not None and isinstance(model, (sk.FastBPClassifier, sk.FastBPRegressor))
    net = getattr(model, "network_", None)
    if net is None:
        if estimator:
            from sklearn.exceptions import NotFittedError
            raise NotFittedError(f"model: this {type(model).__name__} is not fitted yet; "
                                 f"call fit before exporting it")
        raise TypeError(f"model must be a fastbp.Network or a fitted estimator with a "
                        f"network_ attribute, got {type(model).__name__}")
    if not isinstance(net, Network):
        raise TypeError(f"model.network_ must be a fastbp.Network, got "
                        f"{type(net).__name__}")
    if not estimator:
        return net, None
    if isinstance(model, sk.FastBPClassifier):
        return net, (("binary",) if net.sizes[-1] == 1 else None)
    scale = np.asarray(model.y_scale_, dtype=np.float64).reshape(-1)
    mean = np.asarray(model.y_mean_, dtype=np.float64).reshape(-1)
    if scale.shape != (net.sizes[-1],) or mean.shape != (net.sizes[-1],):
        raise ValueError(f"model: y_scale_ and y_mean_ must have shape ({net.sizes[-1]},) "
                         f"like network_'s output, got {scale.shape} and {mean.shape}")
    return net, ("destandardise", scale, mean)


def _check_opset(opset):
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, (bool, np.bool_)) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an int or None, got {type(opset).__name__}")
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be between {MIN_OPSET} and {newest} (the newest the "
                         f"installed onnx {onnx.__version__} knows), got {opset}")
    return int(opset)


def _version():
    from . import __version__
    return __version__


def _metadata(net, model):
    meta = {
        "fastbp_version": _version(),
        "model": type(model if model is not None else net).__name__,
        "sizes": json.dumps(list(net.sizes)),
        "activations": json.dumps(list(net.hidden) + [net.output]),
        "dtype": net.dtype.name,
    }
    classes = getattr(model, "classes_", None) if model is not None else None
    if classes is not None:
        try:
            meta["classes"] = json.dumps(np.asarray(classes).tolist(), allow_nan=False)
        except (TypeError, ValueError):
            pass  # labels that are not JSON values are left out
    return meta
