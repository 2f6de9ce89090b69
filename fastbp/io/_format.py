"""The container format's constants, its error and the checks the other parts share."""
import hashlib
import re
import struct
import zipfile

import numpy as np

from .. import _validation as v

FORMAT = "fastbp-model"
#: the model-file format this fastbp writes and the newest it reads
FORMAT_VERSION = 1
#: the header's JSON may be at most this long (it holds names and small metadata; the
#: numbers are arrays)
MAX_HEADER_BYTES = 16 * 2**20
#: kinds fastbp.sklearn provides (loaded with its ``_from_model_file``)
SKLEARN_KINDS = ("FastBPClassifier", "FastBPRegressor")
#: bit generators whose state a model file may hold
BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")

_HEADER, _CHECKSUM = "__header__", "__checksum__"
_HEADER_KEYS = {"format", "format_version", "fastbp_version", "kind", "meta", "arrays"}
# numeric and unicode arrays only: never object (pickle), void, datetime
_DTYPE = re.compile(r"[<>|=]?(b1|[iu][1248]|f[248]|U[0-9]{1,6})")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}")
_KIND = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
_MAX_NDIM = 32
_CHUNK = 1 << 20
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed: the same model gives the same bytes


# besides BadZipFile, what zipfile raises on a damaged archive (an unknown version,
# an "encrypted" flag, an offset before the file's start, ...)
_ZIP_ERRORS = (EOFError, OSError, ValueError, RuntimeError, NotImplementedError,
               OverflowError, struct.error, zipfile.LargeZipFile)


class ModelFileError(ValueError):
    """A model file that cannot be loaded; ``path`` is the file, ``problem`` what is wrong."""

    def __init__(self, path, problem):
        super().__init__(f"model file {path}: {problem}")
        self.path = path
        self.problem = problem


def _digest(header_bytes, arrays):
    h = hashlib.sha256(header_bytes)
    for arr in arrays:
        h.update(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
    return h.digest()


def _short(value, limit=80):
    return v._short(value, limit)


def _dict(what, value, keys):
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a JSON object, got {_short(value)}")
    missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
    if missing or extra:
        raise ValueError(f"{what} has the keys {sorted(value)}: "
                         + (f"missing {missing}" if missing else f"unexpected {extra}"))
    return value
