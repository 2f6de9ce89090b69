"""Model files that are safe to load: ``net.save(path)``, ``fastbp.load(path)``.

A model file is a NumPy ``.npz`` (a zip archive of ``.npy`` entries, stored uncompressed)
holding:

- ``__header__``: a UTF-8 JSON document as a uint8 array: ``format`` ("fastbp-model"),
  ``format_version``, ``fastbp_version``, ``kind`` (what the file holds: "Network",
  "Population", "FastBPClassifier", ...), ``meta`` (JSON: layout, activation and loss names,
  dtype, generator state, ...) and, for every array, its name, dtype and shape;
- the arrays, one entry each, exactly those the header lists;
- ``__checksum__``: the SHA-256 (32 uint8) of the header's bytes followed by every array's
  bytes in the header's order.

``read`` never unpickles (no object arrays, no ``allow_pickle``), and validates before it
allocates: the zip directory, the header (size, JSON, version, names, dtypes, shapes), the
declared sizes against the file's size and against each entry's own ``.npy`` header, then
reads the arrays and checks the checksum. Every problem raises one ``ModelFileError`` (a
``ValueError``) naming the file. ``write`` is atomic: a temporary file in the target's folder,
flushed and fsynced, then ``os.replace``; a failed save leaves the old file as it was.
"""
import importlib
import os

from ._format import (BIT_GENERATORS, FORMAT, FORMAT_VERSION, MAX_HEADER_BYTES, SKLEARN_KINDS,
                      ModelFileError)
from ._generator import generator_from_json, generator_to_json
from ._parts import (_load_network, network_from_parts, network_parts, population_from_parts,
                     population_parts, register)
from ._read import read
from ._write import atomic_write, write

__all__ = ["BIT_GENERATORS", "FORMAT", "FORMAT_VERSION", "MAX_HEADER_BYTES", "SKLEARN_KINDS",
           "ModelFileError", "atomic_write", "generator_from_json", "generator_to_json", "load",
           "network_from_parts", "network_parts", "population_from_parts", "population_parts",
           "read", "register", "write"]


def load(path, kind=None):
    """The model saved in ``path`` (``Network``, ``Population`` or a fastbp.sklearn
    estimator), after every check of ``read``. With ``kind`` (a class or its name), a file
    holding anything else raises ``ModelFileError``."""
    path = os.fspath(path)
    file_kind, meta, arrays = read(path)
    if kind is not None:
        want = kind if isinstance(kind, str) else getattr(kind, "__name__", repr(kind))
        if file_kind != want:
            raise ModelFileError(path, f"holds a {file_kind}, not a {want}")
    build = _builder(path, file_kind)
    try:
        return build(meta, arrays)
    except ModelFileError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise ModelFileError(path, f"holds an invalid {file_kind}: {exc}") from None


def _builder(path, kind):
    if kind == "Network":
        return _load_network
    if kind == "Population":
        return population_from_parts
    if kind in SKLEARN_KINDS:
        try:
            module = importlib.import_module("fastbp.sklearn")
        except ImportError as exc:
            raise ImportError(f"model file {path} holds a {kind}, which needs scikit-learn: "
                              f'pip install "fastbp[sklearn]" ({exc})') from exc
        cls = getattr(module, kind, None)
        if isinstance(cls, type) and hasattr(cls, "_from_model_file"):
            return cls._from_model_file
    raise ModelFileError(path, f"holds a model of unknown kind {kind!r}; this fastbp loads "
                               f"Network, Population, {', '.join(SKLEARN_KINDS)}")
