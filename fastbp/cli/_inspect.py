"""``fastbp info`` and ``fastbp gradcheck``: describe a model file, check its gradient on DATA."""
import numpy as np

from ._common import (UsageError, _describe_network, _feature_names, _is_classifier,
                      _load_model, _n_features, _network_of, _read_for)


def info(args):
    from ..network import Network
    from ..population import Population

    model = _load_model(args.model)
    lines = [f"file: {args.model}", f"kind: {type(model).__name__}"]
    if isinstance(model, Population):
        lines.append(f"members: {len(model)}")
        lines.append(f"each member: {_describe_network(model.members[0])}")
    else:
        net = _network_of(model)
        if not isinstance(model, Network):
            if _is_classifier(model):
                classes = list(np.asarray(model.classes_).tolist())
                lines.append(f"task: classification, {len(classes)} classes: "
                             f"{', '.join(map(repr, classes[:20]))}"
                             f"{', ...' if len(classes) > 20 else ''}")
            else:
                lines.append("task: regression")
            names = _feature_names(model)
            lines.append(f"features: {_n_features(model)}"
                         + (f" ({', '.join(names)})" if names else ""))
            if getattr(model, "n_iter_", None) is not None:
                lines.append(f"epochs trained: {model.n_iter_}")
            curve = getattr(model, "loss_curve_", None)
            if curve:
                lines.append(f"final training loss: {curve[-1]:.6g}")
        lines.append(f"network: {_describe_network(net)}")
    print("\n".join(lines))
    return 0


def gradcheck(args):
    from ..gradcheck import gradcheck as check

    model = _load_model(args.model)
    net = _network_of(model)
    table = _read_for(model, args, need_target=True)
    X, y = table.X[:args.rows], table.y[:args.rows]
    Y = _network_targets(model, net, y, f"{args.data}: the target {table.target_name!r}")
    kinks = sorted(set(net.hidden) & KINKED)
    # a central difference across a kink (a pre-activation within about eps of 0) is not a
    # derivative: a smaller step makes crossing one unlikely, and float64 differences of the
    # fourth-order stencil still resolve it
    eps = args.eps if args.eps is not None else (1e-5 if kinks else 1e-3)
    err = check(net, X, Y, eps=eps, max_params=args.max_params)
    ok = err <= args.tol
    print(f"max relative error {err:.3g} between backpropagation and central differences "
          f"(eps {eps:g}; {min(net.n_params, args.max_params)} of {net.n_params} parameters, "
          f"{X.shape[0]} rows): {'OK' if ok else f'FAILED (above --tol {args.tol:g})'}")
    if not ok and kinks:
        print(f"{'/'.join(kinks)} is not differentiable at 0: a pre-activation within eps of 0 "
              f"spoils a central difference; try a smaller --eps or other rows")
    return 0 if ok else 1


#: hidden activations with a kink at 0 (relu's slope jumps; elu's second derivative does)
KINKED = {"relu", "leaky_relu", "elu"}


def _network_targets(model, net, y, name):
    from .. import _tabular
    from ..network import Network

    if _is_classifier(model):
        if np.asarray(model.classes_).dtype.kind in "biuf":
            _, y = _tabular.infer_task(y, "classification", name=name)
        else:
            y = y.astype(str)
        try:
            return model._targets(y)[0]  # the network's targets: one-hot, 0/1 or indicators
        except ValueError as exc:
            raise UsageError(f"{name}: {exc}") from None
    _, y = _tabular.infer_task(y, "regression", name=name)
    if not isinstance(model, Network):  # the regressor learns standardised targets
        return (y.reshape(len(y), -1) - model.y_mean_) / model.y_scale_
    _, y = _tabular.infer_task(y, "regression", name=name)
    if y.ndim == 1 and net.output == "softmax":
        return y.astype(np.int64)
    return y.reshape(len(y), -1)
