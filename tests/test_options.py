"""The training options are declared once and the package's imports form no cycle."""
import ast
import inspect
import os

import pytest

import fastbp
from fastbp import options, optim
from fastbp.baseline import BaselineNetwork

PACKAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fastbp")


def import_graph():
    """module -> the fastbp modules it imports (module level or inside functions)."""
    graph = {}
    for folder, _, files in os.walk(PACKAGE):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            parts = ["fastbp"] + os.path.relpath(path, PACKAGE)[:-3].split(os.sep)
            package = parts[:-1]
            module = ".".join(parts if parts[-1] != "__init__" else parts[:-1])
            deps = graph.setdefault(module, set())
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    deps.update(a.name for a in node.names if a.name.startswith("fastbp."))
                elif isinstance(node, ast.ImportFrom):
                    if node.level:
                        base = package[:len(package) - node.level + 1]
                        target = ".".join(base + ([node.module] if node.module else []))
                    elif (node.module or "").startswith("fastbp"):
                        target = node.module
                    else:
                        continue
                    # ``from . import x`` imports the module fastbp.x
                    if node.module is None:
                        deps.update(f"{target}.{a.name}" for a in node.names)
                    else:
                        deps.add(target)
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(m, path):
        state[m] = "open"
        for d in sorted(graph[m]):
            if state.get(d) == "open":
                return path[path.index(d):] + [d]
            if d not in state:
                found = visit(d, path + [d])
                if found:
                    return found
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m, [m])
            if found:
                return found
    return None


def test_imports_form_no_cycle():
    graph = import_graph()
    assert {"fastbp.network", "fastbp.training", "fastbp.threads"} <= set(graph)
    assert cycle(graph) is None, " -> ".join(cycle(graph))
    assert graph["fastbp.threads"] <= {"fastbp._jit", "fastbp.kernels", "fastbp.layout"}
    product = {"fastbp.network", "fastbp.training", "fastbp.kernels", "fastbp.optim"}
    assert not graph["fastbp.baseline"] & product


def test_the_optimizer_names_are_the_kernels():
    assert set(options.OPTIMIZERS) == set(optim.CODES)


def test_faces_take_their_options_from_the_table():
    params = inspect.signature(fastbp.Network.fit).parameters
    assert list(params) == ["self", "X", "Y", *options.NAMES]
    assert all(params[n].default == options.DEFAULTS[n] for n in options.NAMES)
    for face in (fastbp.Population.fit, BaselineNetwork.fit, fastbp.Network.partial_fit):
        for name, p in list(inspect.signature(face).parameters.items())[3:]:
            assert p.default == options.DEFAULTS[name], (face, name)
    assert "n_threads=None: k > 1 runs Hogwild" in fastbp.Network.fit.__doc__


def test_faces_bind_arguments_as_python_does():
    net = fastbp.Network([2, 3, 1], seed=0)
    X, Y = [[0.0, 1.0], [1.0, 0.0]], [[1.0], [0.0]]
    h = net.fit(X, Y, 3, 0.5)  # epochs and lr by position
    assert len(h) == 3 and h.lr == [0.5] * 3
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        net.fit(X, Y, epoch=3)
