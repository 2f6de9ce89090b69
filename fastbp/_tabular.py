"""Reading the user's data for the ``fastbp`` command: CSV (stdlib ``csv``), ``.npy``, ``.npz``.

- CSV (any other extension; ``.tsv`` is tab-separated): a header row names the columns; feature
  columns hold numbers, the target column may hold strings. Blank lines are skipped; a row
  with more or fewer fields than the header, an empty or non-numeric feature cell, a
  duplicated column name are errors naming the file and the line.
- ``.npy``: one 2-D numeric array; the target is its last column unless ``target`` gives an
  index.
- ``.npz``: arrays ``X`` (2-D) and ``y`` (1-D or 2-D; may hold strings).

Every problem with the data raises ``DataError`` (a ValueError) with a one-line message that
names the file; the command prints it and exits with status 2. Features come back as a
float64 array; the target as given (strings as a unicode array), typed by ``infer_task``.
"""
import csv
import os
import zipfile
from typing import NamedTuple, Optional

import numpy as np

#: at most this many distinct integer values make a numeric target a class label
MAX_CLASSES = 20


class DataError(ValueError):
    """A problem with the user's data file: one line, naming the file."""


class Table(NamedTuple):
    X: np.ndarray                  # (n, d) float64 features
    y: Optional[np.ndarray]        # (n,) or (n, k) target, or None
    feature_names: Optional[list]  # CSV column names of X, or None (.npy / .npz)
    target_name: Optional[str]     # the target column's name (CSV) or index / "y"


def kind_of(path):
    ext = os.path.splitext(path)[1].lower()
    return ext if ext in (".npy", ".npz") else ".csv"


def read(path, target=None, features=None, need_target=False):
    """The ``Table`` in ``path``.

    target: the target column, a name (CSV; an integer is taken as a 0-based index when no
        column has that name) or an index (.npy); None: no target for CSV, the last column for
        .npy when ``need_target``, ``y`` for .npz. ``features``: the feature columns by name (CSV
        only; other columns are ignored, need not be numeric and may be absent); None: every
        column but the target.
    """
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a folder, not a data file")
    kind = kind_of(path)
    try:
        if kind == ".npy":
            return _read_npy(path, target, need_target)
        if kind == ".npz":
            return _read_npz(path, target, need_target)
        return _read_csv(path, target, features, need_target)
    except OSError as exc:
        raise DataError(f"{path}: cannot read it: {exc.strerror or exc}") from None


# ---------------------------------------------------------------------------- CSV
def _read_csv(path, target, features, need_target):
    delimiter = "\t" if path.lower().endswith(".tsv") else ","
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        try:
            header = next((row for row in reader if row), None)
            if header is None:
                raise DataError(f"{path}: is empty (a CSV file needs a header row naming the columns)")
            names = [h.strip() for h in header]
            seen = set()
            for name in names:
                if name in seen:
                    raise DataError(f"{path}: the header names column {name!r} twice")
                seen.add(name)
            t = None if target is None else _column(path, names, target)
            if t is None and need_target:
                raise DataError(f"{path}: give the target column with --target NAME "
                                f"(the columns are {_list(names)})")
            if features is None:
                cols = [i for i in range(len(names)) if i != t]
            else:
                missing = [c for c in features if c not in seen]
                if missing:
                    raise DataError(f"{path}: lacks the model's feature column(s) {_list(missing)}"
                                    + (f" (it was trained on {_list(features)})"
                                       if len(missing) < len(features) else ""))
                cols = [names.index(c) for c in features]
                if t is not None and t in cols:
                    raise DataError(f"{path}: column {names[t]!r} is one of the model's features, "
                                    f"it cannot be the target")
            if not cols:
                raise DataError(f"{path}: has no feature columns besides the target")
            values, labels, lines = [], [], []
            for row in reader:
                if not row:
                    continue  # blank line
                if len(row) != len(names):
                    raise DataError(f"{path}, line {reader.line_num}: {len(row)} field(s), but the "
                                    f"header has {len(names)}")
                try:
                    values.append([float(row[i]) for i in cols])
                except ValueError:
                    for i in cols:
                        _number(path, reader.line_num, names[i], row[i])
                lines.append(reader.line_num)
                if t is not None:
                    labels.append(row[t].strip())
        except csv.Error as exc:
            raise DataError(f"{path}, line {reader.line_num}: malformed CSV: {exc}") from None
    if not values:
        raise DataError(f"{path}: has a header but no data rows")
    X = np.array(values, dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}, line {lines[r]}: column {names[cols[c]]!r} holds {X[r, c]}; "
                        f"features must be finite numbers")
    y = None
    if t is not None:
        for r, label in enumerate(labels):
            if not label:
                raise DataError(f"{path}, line {lines[r]}: the target column {names[t]!r} is "
                                f"empty (drop or fill rows without a target)")
        y = np.array(labels)
    return Table(X, y, [names[i] for i in cols], None if t is None else names[t])


def _number(path, line, name, text):
    try:
        return float(text)
    except ValueError:
        what = "is empty" if not text.strip() else f"holds {text.strip()!r}, not a number"
        raise DataError(f"{path}, line {line}: feature column {name!r} {what} (feature columns "
                        f"must be numeric; missing values are not supported)") from None


def _column(path, names, target):
    if target in names:
        return names.index(target)
    try:
        i = int(target)
    except ValueError:
        raise DataError(f"{path}: has no column {target!r}; the columns are "
                        f"{_list(names)}") from None
    if not -len(names) <= i < len(names):
        raise DataError(f"{path}: has no column {target!r} and column index {i} is out of range "
                        f"for {len(names)} columns")
    return i % len(names)


def _list(names, limit=12):
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


# ---------------------------------------------------------------------------- NumPy
def _load(path):
    npz = path.lower().endswith(".npz")
    what = "an .npz archive" if npz else "a .npy array"
    with open(path, "rb") as f:
        magic = f.read(6)
    if magic[:len(b"PK") if npz else 6] != (b"PK" if npz else b"\x93NUMPY"):
        raise DataError(f"{path}: not {what} (it does not start as one)")
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable {what[3 if npz else 2:]} "
                        f"({' '.join(str(exc).split())})") from None


def _read_npy(path, target, need_target):
    A = _load(path)
    if not isinstance(A, np.ndarray) or A.ndim != 2:
        raise DataError(f"{path}: must hold a 2-D array (rows x columns), got shape "
                        f"{getattr(A, 'shape', None)}")
    if A.shape[0] == 0:
        raise DataError(f"{path}: has no rows")
    t = None
    if target is not None or need_target:
        try:
            t = -1 if target is None else int(target)
        except ValueError:
            raise DataError(f"{path}: --target for a .npy file is a column index, got "
                            f"{target!r}") from None
        if not -A.shape[1] <= t < A.shape[1]:
            raise DataError(f"{path}: column index {t} is out of range for {A.shape[1]} columns")
        t %= A.shape[1]
    cols = [i for i in range(A.shape[1]) if i != t]
    if not cols:
        raise DataError(f"{path}: has no feature columns besides the target")
    X = _features(path, A[:, cols])
    y = None if t is None else A[:, t]
    return Table(X, y, None, None if t is None else str(t))


def _read_npz(path, target, need_target):
    with _load(path) as z:
        if not hasattr(z, "files"):
            raise DataError(f"{path}: not an .npz archive")
        if "X" not in z.files:
            raise DataError(f"{path}: has no array 'X' (an .npz data file holds arrays X and y); "
                            f"it holds {_list(z.files)}")
        if target not in (None, "y"):
            raise DataError(f"{path}: --target does not apply to .npz data (its arrays X and y "
                            f"are used)")
        try:
            X = z["X"]
            y = z["y"] if "y" in z.files else None
        except (ValueError, EOFError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path}: cannot read its arrays ({' '.join(str(exc).split())})") \
                from None
    if X.ndim != 2:
        raise DataError(f"{path}: X must be 2-D (rows x features), got shape {X.shape}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise DataError(f"{path}: X has shape {X.shape}; it needs rows and features")
    if y is None and need_target:
        raise DataError(f"{path}: has no array 'y' (the target)")
    if y is not None and (y.ndim not in (1, 2) or y.shape[0] != X.shape[0]):
        raise DataError(f"{path}: y has shape {y.shape}, X {X.shape}: y must be 1-D or 2-D with "
                        f"one row per row of X")
    return Table(_features(path, X), y, None, None if y is None else "y")


def _features(path, A):
    if A.dtype.kind not in "biuf":
        raise DataError(f"{path}: the features must be numbers, got dtype {A.dtype}")
    X = np.asarray(A, dtype=np.float64)
    bad = ~np.isfinite(X)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(f"{path}: row {r}, feature {c} is {X[r, c]}; features must be finite")
    return X


# ---------------------------------------------------------------------------- the task
def infer_task(y, task=None, name="the target"):
    """(task, y): ``task`` 'classification' or 'regression' (given, or inferred from ``y``) and
    ``y`` typed for it.

    Inferred: strings, or integer values with at most ``MAX_CLASSES`` distinct ones, or a 2-D
    0/1 array (multilabel) are classification; other numbers are regression. Classification
    labels that are integer-valued become int64 (so predictions print as 3, not 3.0).
    """
    y = np.asarray(y)
    numeric = y.dtype.kind in "biuf"
    if not numeric:
        parsed = _parse_numbers(y)
        if parsed is not None:
            y, numeric = parsed, True
    if numeric:
        y = y.astype(np.float64)
        if not np.isfinite(y).all():
            raise DataError(f"{name} holds non-finite values")
        integral = bool(np.all(y == np.round(y)))
        if task is None:
            if y.ndim == 2:
                few = integral and set(np.unique(y)) <= {0.0, 1.0}
            else:
                few = integral and np.unique(y).size <= MAX_CLASSES
            task = "classification" if few else "regression"
        if task == "classification":
            if not integral:
                raise DataError(f"{name} holds non-integer numbers such as "
                                f"{float(y[y != np.round(y)].flat[0])!r}; class labels must be strings or "
                                f"integers (or use --task regression)")
            y = y.astype(np.int64)
        return task, y
    if task == "regression":
        bad = next(v for v in y.flat if _parse_numbers(np.array([v])) is None)
        raise DataError(f"{name} holds {str(bad)!r}; --task regression needs numbers")
    return "classification", y


def _parse_numbers(y):
    try:
        return np.array([float(v) for v in y.ravel()]).reshape(y.shape)
    except ValueError:
        return None
