"""The ``fastbp`` command on the user's own data, end to end through subprocesses.

Each subprocess imports numba (about a second), so the commands run in a few batches of
concurrent processes: the two trainings, then every command that reads their model files,
then every failure case. The tests assert on the recorded results.
"""
import csv
import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest

pytest.importorskip("sklearn")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 600  # seconds for a batch; a cold numba cache compiles every kernel first
CLASSES = ["red", "green", "dark, blue"]  # a comma, so the CSV writer must quote it


def _env(extra_path=None):
    path = [ROOT] + ([extra_path] if extra_path else [])
    return dict(os.environ, PYTHONPATH=os.pathsep.join(path + [os.environ.get("PYTHONPATH", "")]))


def batch(commands, cwd):
    """Run ``{name: [args...]}`` (each ``python -m fastbp args``, or ``(args, env)``) at once;
    ``{name: CompletedProcess}``."""
    procs = {}
    for name, cmd in commands.items():
        args, env = cmd if isinstance(cmd, tuple) else (cmd, _env())
        procs[name] = subprocess.Popen([sys.executable, "-m", "fastbp", *map(str, args)],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       text=True, cwd=cwd, env=env)
    deadline = time.monotonic() + TIMEOUT
    done = {}
    try:
        for name, p in procs.items():
            out, err = p.communicate(timeout=max(1.0, deadline - time.monotonic()))
            done[name] = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
    return done


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def _read_csv(text):
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    """Data files and the two trained models (classification with string labels, regression
    with raw-scale targets), trained concurrently."""
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(0)
    centres = np.array([[2, 0, 0, 1], [-2, 1, 0, -1], [0, -2, 2, 0]], dtype=float)
    labels = rng.integers(0, 3, 120)
    X = centres[labels] + 0.5 * rng.normal(size=(120, 4))
    names = ["sepal", "petal", "stem", "leaf"]
    # the label sits between feature columns: training must leave it out by name
    _write_csv(d / "flowers.csv", ["sepal", "petal", "colour", "stem", "leaf"],
               [[*map(repr, x[:2].tolist()), CLASSES[k], *map(repr, x[2:].tolist())] for x, k in zip(X, labels)])
    # for predict: columns in another order, the target absent
    _write_csv(d / "new.csv", names[::-1], [[*map(repr, x[::-1].tolist())] for x in X[:10]])
    np.save(d / "flowers.npy", X[:7])
    np.save(d / "three.npy", X[:7, :3])
    Xr = rng.normal(size=(200, 3))
    yr = 150 + 40 * Xr[:, 0] - 25 * Xr[:, 1] + 10 * np.tanh(Xr[:, 2]) + rng.normal(size=200)
    _write_csv(d / "houses.csv", ["rooms", "age", "noise", "price"],
               [[*map(repr, x.tolist()), repr(float(t))] for x, t in zip(Xr, yr)])
    # bad data
    (d / "ragged.csv").write_text("a,b,y\n1,2,x\n3,4\n")
    (d / "text.csv").write_text("a,b,y\n1,2,x\n3,four,y\n")
    (d / "quote.csv").write_text('a,b,y\n1,2,x\n3,"4,y\n')
    shadow = d / "no_sklearn"
    (shadow / "sklearn").mkdir(parents=True)
    (shadow / "sklearn" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'sklearn'\", name='sklearn')\n")
    runs = batch({
        "clf": ["train", "flowers.csv", "--target", "colour", "--layers", "16",
                "--epochs", "40", "--seed", "0", "--out", "flowers.npz"],
        "reg": ["train", "houses.csv", "--target", "price", "--layers", "16,8", "--hidden",
                "tanh", "--epochs", "60", "--seed", "1", "--out", "houses.npz"],
    }, cwd=d)
    return d, runs, X, labels, shadow


@pytest.fixture(scope="module")
def runs(work):
    """Every command that reads the trained models, at once."""
    d, trained, X, labels, shadow = work
    for name, r in trained.items():
        assert r.returncode == 0, f"{name}: {r.stderr}"
    return batch({
        "predict": ["predict", "flowers.npz", "flowers.csv"],
        "proba": ["predict", "flowers.npz", "new.csv", "--proba", "--out", "proba.csv"],
        "npy": ["predict", "flowers.npz", "flowers.npy", "--no-header"],
        "evaluate": ["evaluate", "flowers.npz", "flowers.csv", "--target", "colour"],
        "info": ["info", "flowers.npz"],
        "gradcheck": ["gradcheck", "flowers.npz", "flowers.csv", "--target", "colour",
                      "--rows", "20"],
        "reg_predict": ["predict", "houses.npz", "houses.csv", "--out", "prices.csv"],
        "reg_evaluate": ["evaluate", "houses.npz", "houses.csv", "--target", "price"],
        "reg_info": ["info", "houses.npz"],
        "version": ["--version"],
        "help": ["--help"],
    }, cwd=d)


def test_train_reports_progress_on_stderr_and_writes_the_model(work):
    d, trained, *_ = work
    clf, reg = trained["clf"], trained["reg"]
    assert clf.stdout == "" and reg.stdout == ""
    assert "120 rows, 4 features, target 'colour': classification (3 classes)" in clf.stderr
    assert "target 'price': regression" in reg.stderr
    assert "saved to flowers.npz" in clf.stderr and "training accuracy" in clf.stderr
    assert "Traceback" not in clf.stderr + reg.stderr
    assert (d / "flowers.npz").stat().st_size > 0 and (d / "houses.npz").stat().st_size > 0


def test_predict_writes_one_label_per_row(work, runs):
    _, _, X, labels, _ = work
    r = runs["predict"]
    assert r.returncode == 0, r.stderr
    header, rows = _read_csv(r.stdout)
    assert header == ["prediction"] and len(rows) == len(X)
    predicted = [row[0] for row in rows]
    assert set(predicted) <= set(CLASSES)  # "dark, blue" survived the quoting
    assert np.mean([p == CLASSES[k] for p, k in zip(predicted, labels)]) > 0.9


def test_predict_proba_matches_columns_by_name(work, runs):
    d, *_ = work
    r = runs["proba"]
    assert r.returncode == 0 and r.stdout == "", r.stderr
    header, rows = _read_csv((d / "proba.csv").read_text())
    assert sorted(header) == sorted(CLASSES) and len(rows) == 10
    P = np.array(rows, dtype=float)
    np.testing.assert_allclose(P.sum(axis=1), 1, atol=1e-9)
    # the same rows (columns reversed, no target) give the same labels as predict
    _, predicted = _read_csv(runs["predict"].stdout)
    assert [header[k] for k in P.argmax(axis=1)] == [row[0] for row in predicted[:10]]


def test_predict_npy_takes_the_columns_in_training_order(runs):
    r = runs["npy"]
    assert r.returncode == 0, r.stderr
    _, predicted = _read_csv(runs["predict"].stdout)
    assert list(csv.reader(io.StringIO(r.stdout))) == predicted[:7]


def test_evaluate_prints_accuracy(runs):
    r = runs["evaluate"]
    assert r.returncode == 0, r.stderr
    metric, value, *rest = r.stdout.split()
    assert metric == "accuracy" and float(value) > 0.9 and "120 rows" in r.stdout


def test_info_describes_the_model(runs):
    r = runs["info"]
    assert r.returncode == 0, r.stderr
    assert "FastBPClassifier" in r.stdout and "3 classes" in r.stdout
    assert "'dark, blue'" in r.stdout and "features: 4 (sepal, petal, stem, leaf)" in r.stdout
    assert "4-16-3" in r.stdout
    reg = runs["reg_info"]
    assert reg.returncode == 0 and "FastBPRegressor" in reg.stdout and "regression" in reg.stdout
    assert "3-16-8-1" in reg.stdout and "tanh" in reg.stdout


def test_gradcheck_passes(runs):
    r = runs["gradcheck"]
    assert r.returncode == 0, r.stdout + r.stderr
    assert "max relative error" in r.stdout and "OK" in r.stdout


def test_regression_round_trip(work, runs):
    d, *_ = work
    assert runs["reg_predict"].returncode == 0, runs["reg_predict"].stderr
    header, rows = _read_csv((d / "prices.csv").read_text())
    assert header == ["prediction"] and len(rows) == 200
    _, data = _read_csv((d / "houses.csv").read_text())
    y = np.array([float(row[-1]) for row in data])
    pred = np.array([float(row[0]) for row in rows])
    assert 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2) > 0.9
    r = runs["reg_evaluate"]
    assert r.returncode == 0, r.stderr
    metric, value, *_ = r.stdout.split()
    assert metric == "R^2" and float(value) > 0.9


def test_version_and_help(runs):
    import fastbp

    assert runs["version"].stdout.strip() == f"fastbp {fastbp.__version__}"
    out = runs["help"].stdout
    assert runs["help"].returncode == 0
    for command in ("train", "predict", "evaluate", "info", "gradcheck", "bench", "demo"):
        assert command in out


@pytest.mark.parametrize("command", ["train", "predict", "evaluate", "info", "gradcheck", "demo"])
def test_every_command_has_help(command, capsys):
    from fastbp.cli import main

    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert f"usage: fastbp {command}" in capsys.readouterr().out


@pytest.mark.parametrize("option, value, message", [
    ("--lr", "-1", "must be a number > 0, got '-1'"), ("--epochs", "0", "must be an integer >= 1"),
    ("--validation-fraction", "1", "> 0 and < 1"), ("--layers", "32,x", "--layers takes"),
    ("--hidden", "foo", "invalid choice: 'foo'")])
def test_option_values_are_checked_before_the_data_is_read(option, value, message, capsys):
    from fastbp.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["train", "nothing.csv", "--target", "y", "--out", "m.npz", option, value])
    assert exc.value.code == 2 and message in capsys.readouterr().err


# ---------------------------------------------------------------------------- failures
FAILURES = {
    "missing data": (["train", "nothing.csv", "--target", "y", "--out", "m.npz"],
                     "nothing.csv: no such file"),
    "missing model": (["predict", "nothing.npz", "flowers.csv"], "nothing.npz: no such file"),
    "bad column": (["train", "flowers.csv", "--target", "color", "--out", "m.npz"],
                   "has no column 'color'"),
    "no target": (["train", "flowers.csv", "--out", "m.npz"], "--target"),
    "non-numeric feature": (["train", "text.csv", "--target", "y", "--out", "m.npz"],
                            "line 3: feature column 'b' holds 'four', not a number"),
    "ragged rows": (["train", "ragged.csv", "--target", "y", "--out", "m.npz"],
                    "line 3: 2 field(s), but the header has 3"),
    "bad quoting": (["train", "quote.csv", "--target", "y", "--out", "m.npz"], "malformed CSV"),
    "no such folder": (["train", "flowers.csv", "--target", "colour", "--out",
                        "nowhere/m.npz"], "does not exist"),
    "another network's columns": (["predict", "houses.npz", "flowers.csv"],
                                  "lacks the model's feature column(s) 'rooms'"),
    "another network's width": (["predict", "flowers.npz", "three.npy"],
                                "has 3 feature column(s), but the model flowers.npz takes 4"),
    "not a model": (["info", "flowers.csv"], "flowers.csv"),
    "proba of a regressor": (["predict", "houses.npz", "houses.csv", "--proba"],
                             "--proba needs a classifier"),
    "regression of labels": (["train", "flowers.csv", "--target", "colour", "--task",
                              "regression", "--out", "m.npz"], "needs numbers"),
    "missing target at evaluate": (["evaluate", "flowers.npz", "new.csv"], "--target"),
    "scikit-learn missing": ("no_sklearn", "pip install \"fastbp[sklearn]\""),
}


@pytest.fixture(scope="module")
def failures(work, runs):
    d, _, _, _, shadow = work
    commands = {name: args for name, (args, _) in FAILURES.items() if name != "scikit-learn missing"}
    commands["scikit-learn missing"] = (["evaluate", "flowers.npz", "flowers.csv", "--target",
                                         "colour"], _env(str(shadow)))
    return batch(commands, cwd=d)


@pytest.mark.parametrize("case", list(FAILURES))
def test_failure_is_one_line_and_status_2(case, failures, work):
    r = failures[case]
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fastbp: error: "), r.stderr
    assert FAILURES[case][1] in lines[0]
    assert not (work[0] / "m.npz").exists()


# ---------------------------------------------------------------------------- the reader
def test_reader_npy_npz_and_task_inference(tmp_path):
    from fastbp import _tabular as T

    A = np.arange(12.0).reshape(4, 3)
    np.save(tmp_path / "a.npy", A)
    t = T.read(str(tmp_path / "a.npy"), need_target=True)
    np.testing.assert_array_equal(t.X, A[:, :2])
    np.testing.assert_array_equal(t.y, A[:, 2])
    t = T.read(str(tmp_path / "a.npy"), target="0")
    np.testing.assert_array_equal(t.X, A[:, 1:])
    np.savez(tmp_path / "b.npz", X=A, y=np.array(["a", "b", "a", "c"]))
    t = T.read(str(tmp_path / "b.npz"), need_target=True)
    assert t.feature_names is None and T.infer_task(t.y)[0] == "classification"
    task, y = T.infer_task(np.array(["1", "2", "2"]))
    assert task == "classification" and y.dtype == np.int64
    assert T.infer_task(np.array(["0.5", "2"]))[0] == "regression"
    assert T.infer_task(np.arange(21.0))[0] == "regression"  # more than 20 distinct integers
    assert T.infer_task(np.array([[0, 1], [1, 1]]))[0] == "classification"  # multilabel
    assert T.infer_task(np.array([1, 2]), "regression")[1].dtype == np.float64
    with pytest.raises(T.DataError, match="non-integer numbers such as 0.5"):
        T.infer_task(np.array([0.5, 1]), "classification")
    np.savez(tmp_path / "c.npz", X=np.array([[1, None]], dtype=object))
    with pytest.raises(T.DataError, match="c.npz"):
        T.read(str(tmp_path / "c.npz"))
    (tmp_path / "d.npy").write_bytes(b"not numpy")
    with pytest.raises(T.DataError, match="d.npy: not a .npy array"):
        T.read(str(tmp_path / "d.npy"))


def test_reader_csv_edge_cases(tmp_path):
    from fastbp import _tabular as T

    p = tmp_path / "a.csv"
    p.write_text("\ufeffa, b ,y\n1,2,x\n\n3,4,y\n")  # BOM, spaces, blank line
    t = T.read(str(p), target="y")
    assert t.feature_names == ["a", "b"] and t.y.tolist() == ["x", "y"]
    np.testing.assert_array_equal(t.X, [[1, 2], [3, 4]])
    t = T.read(str(p), features=["b", "a"])  # by name, any order; y is not parsed
    np.testing.assert_array_equal(t.X, [[2, 1], [4, 3]])
    for text, message in [("", "is empty"), ("a,y\n", "no data rows"),
                          ("a,a,y\n1,2,3\n", "names column 'a' twice"),
                          ("a,y\n1,\n", "line 2: the target column 'y' is empty"),
                          ("a,y\nnan,1\n", "line 2: column 'a' holds nan")]:
        p.write_text(text)
        with pytest.raises(T.DataError, match=message):
            T.read(str(p), target="y")
