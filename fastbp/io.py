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
import contextlib
import hashlib
import hmac
import importlib
import json
import math
import os
import re
import stat
import struct
import tempfile
import zipfile

import numpy as np

from . import _validation as v
from .layout import Layout
from .network import Network
from .population import Population
from .training import History

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


# ---------------------------------------------------------------------------- writing
def write(path, kind, meta, arrays):
    """Write a model file atomically: ``kind`` (a class name), ``meta`` (a JSON-able dict)
    and ``arrays`` (name -> numeric or unicode ndarray). Returns ``path``.

    The file appears complete or not at all: it is written to a temporary file in the same
    folder, flushed, fsynced and renamed over ``path``; on any failure the temporary file is
    removed and an existing ``path`` is left as it was.
    """
    path = os.fspath(path)
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise ValueError(f"kind must be a class name, got {kind!r}")
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    entries, listing = {}, []
    for name, value in arrays.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.startswith("__"):
            raise ValueError(f"array name {name!r} is not allowed: use letters, digits, "
                             f"'_', '.', '-' (at most 200), not starting with '__'")
        arr = np.asarray(value)
        if not arr.flags.c_contiguous:
            arr = arr.copy(order="C")
        if arr.dtype.hasobject or not _DTYPE.fullmatch(arr.dtype.str):
            raise TypeError(f"array {name!r} has dtype {arr.dtype}: a model file holds "
                            f"numeric (bool, int, float) or unicode arrays only")
        if arr.ndim > _MAX_NDIM:
            raise ValueError(f"array {name!r} has {arr.ndim} dimensions (at most {_MAX_NDIM})")
        entries[name] = arr
        listing.append({"name": name, "dtype": arr.dtype.str, "shape": list(arr.shape)})
    from . import __version__
    header = {"format": FORMAT, "format_version": FORMAT_VERSION, "fastbp_version": __version__,
              "kind": kind, "meta": meta, "arrays": listing}
    try:
        text = json.dumps(header, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"meta must hold JSON values only (dict, list, str, int, finite "
                        f"float, bool, None): {exc}") from None
    header_bytes = text.encode("utf-8")
    if len(header_bytes) > MAX_HEADER_BYTES:
        raise ValueError(f"the header would take {len(header_bytes)} bytes (at most "
                         f"{MAX_HEADER_BYTES}): put large data in arrays, not in meta")
    digest = _digest(header_bytes, entries.values())
    members = [(_HEADER, np.frombuffer(header_bytes, dtype=np.uint8)), *entries.items(),
               (_CHECKSUM, np.frombuffer(digest, dtype=np.uint8))]

    def write_zip(f):
        # what np.savez writes (one .npy per entry, stored), with fixed timestamps
        with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED,
                             allowZip64=True) as zf:
            for name, arr in members:
                info = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_DATE)
                info.external_attr = 0o644 << 16
                with zf.open(info, "w", force_zip64=True) as out:
                    np.lib.format.write_array(out, arr, allow_pickle=False)

    atomic_write(path, write_zip)
    return path


def atomic_write(path, write_fn):
    """Call ``write_fn(f)`` on a temporary binary file next to ``path``, fsync it and rename
    it to ``path``; on any failure remove the temporary file and re-raise."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    mode = _new_file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            fd = None
            write_fn(f)
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if fd is not None:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_folder(folder)


def _new_file_mode(path):
    """The permissions the saved file gets: those of the file it replaces, else what
    ``open`` would give (0o666 less the umask); mkstemp's own are 0o600."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def _umask():
    try:  # Linux: read it without changing it (os.umask would, for a moment, process-wide)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync_folder(folder):
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _digest(header_bytes, arrays):
    h = hashlib.sha256(header_bytes)
    for arr in arrays:
        h.update(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
    return h.digest()


# ---------------------------------------------------------------------------- reading
def read(path):
    """``(kind, meta, arrays)`` of a model file, after every check.

    Raises ``ModelFileError`` (a ``ValueError`` naming the file) for anything but a complete,
    unmodified fastbp model file of a format version this fastbp reads; OSError (e.g.
    FileNotFoundError) if the file cannot be opened. Nothing large is allocated before the
    declared sizes have been checked against the file's size, and nothing is unpickled.
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        return _Reader(path, f).read()


class _Reader:
    def __init__(self, path, f):
        self.path = path
        self.f = f
        self.size = os.fstat(f.fileno()).st_size

    def fail(self, problem):
        return ModelFileError(self.path, problem)

    def read(self):
        zf = self.open_zip()
        with zf:
            try:
                return self.read_zip(zf)
            except ModelFileError:
                raise
            except zipfile.BadZipFile as exc:
                raise self.fail(f"is damaged ({exc}): a changed byte or an incomplete "
                                f"copy") from None
            except _ZIP_ERRORS as exc:  # what zipfile raises on other damage
                raise self.fail(f"is truncated or damaged ({type(exc).__name__}: {exc})") \
                    from None

    def open_zip(self):
        start = self.f.read(6)
        self.f.seek(0)
        if not start:
            raise self.fail("is empty")
        if start.startswith(b"\x93NUMPY"):
            raise self.fail("is a single NumPy .npy array, not a fastbp model file (.npz)")
        if not start.startswith(b"PK"):
            raise self.fail("is not a zip archive, so not a NumPy .npz or fastbp model file")
        try:
            return zipfile.ZipFile(self.f)
        except (zipfile.BadZipFile, *_ZIP_ERRORS) as exc:
            raise self.fail(f"is truncated or damaged: its zip directory cannot be read "
                            f"({exc})") from None

    def read_zip(self, zf):
        infos = zf.infolist()
        names = [i.filename for i in infos]
        if len(set(names)) != len(names):
            raise self.fail("lists an entry twice in its zip directory")
        if not any(n.endswith(".npy") for n in names):
            raise self.fail("is a zip archive but not a NumPy .npz (no .npy entries)")
        if _HEADER + ".npy" not in names:
            raise self.fail(f"is not a fastbp model file: a .npz without a {_HEADER} entry "
                            f"(it holds {_listing(names)})")
        by_name = {i.filename: i for i in infos}
        for info in infos:
            if info.flag_bits & 0x1:
                raise self.fail(f"entry {info.filename!r} is encrypted; fastbp model files "
                                f"are not")
            if info.compress_type != zipfile.ZIP_STORED:
                raise self.fail(f"entry {info.filename!r} is compressed; fastbp model files "
                                f"are stored uncompressed")
            if info.compress_size != info.file_size:
                raise self.fail(f"entry {info.filename!r} declares {info.file_size} bytes "
                                f"but stores {info.compress_size}")
        if sum(i.file_size for i in infos) > self.size:
            raise self.fail(f"its zip directory claims more bytes than the file's "
                            f"{self.size}: truncated or damaged")

        header_bytes = self.read_header_bytes(zf, by_name[_HEADER + ".npy"])
        header = self.parse_header(header_bytes)
        kind, meta, listing = header["kind"], header["meta"], header["arrays"]

        expected = {_HEADER + ".npy", _CHECKSUM + ".npy"} | {a[0] + ".npy" for a in listing}
        missing = sorted(expected - set(names))
        if missing:
            raise self.fail(f"lacks the entries {missing} its header lists: truncated or "
                            f"damaged")
        extra = sorted(set(names) - expected)
        if extra:
            raise self.fail(f"holds entries its header does not list: {extra}")

        # each entry's own .npy header (numpy parses it with ast.literal_eval: no code
        # runs); an object array is refused here, before anything else is read
        found = {name: self.entry_header(zf, by_name[name + ".npy"], name)
                 for name, _, _, _ in listing}
        total = 0
        for name, dtype, shape, nbytes in listing:
            total += nbytes
            if total > self.size:
                raise self.fail(
                    f"its header claims {nbytes} bytes for the array {name!r} (shape "
                    f"{tuple(shape)}, {math.prod(shape)} values of {dtype}) but the whole "
                    f"file has {self.size} bytes: a forged or damaged header; nothing was "
                    f"allocated")
        # every entry must be what the header declares, its size agreeing with both
        for name, dtype, shape, nbytes in listing:
            got_shape, got_dtype, data_bytes = found[name]
            if got_dtype != dtype or got_shape != shape:
                raise self.fail(f"its entry {name!r} holds a {got_dtype} array of shape "
                                f"{got_shape} but the header declares {dtype} {shape}")
            if data_bytes != nbytes:
                raise self.fail(f"its entry {name!r} has {data_bytes} bytes of data, its "
                                f"shape needs {nbytes}: truncated or damaged")
        checksum = self.read_entry(zf, by_name[_CHECKSUM + ".npy"], _CHECKSUM,
                                   np.dtype(np.uint8), (32,), 32)
        arrays = {name: self.read_entry(zf, by_name[name + ".npy"], name, dtype, shape, nbytes)
                  for name, dtype, shape, nbytes in listing}
        digest = _digest(header_bytes, arrays.values())
        if not hmac.compare_digest(digest, checksum.tobytes()):
            raise self.fail("is damaged: its SHA-256 checksum does not match its contents "
                            "(a changed byte, or arrays edited without fastbp)")
        return kind, meta, arrays

    def read_header_bytes(self, zf, info):
        if info.file_size > MAX_HEADER_BYTES + 1024:
            raise self.fail(f"has a {info.file_size}-byte header entry (at most "
                            f"{MAX_HEADER_BYTES})")
        with zf.open(info) as fp:
            shape, dtype, _ = self.npy_header(fp, _HEADER)
            if dtype != np.uint8 or len(shape) != 1:
                raise self.fail(f"its {_HEADER} entry is not a 1-D uint8 array")
            nbytes = shape[0]
            if fp.tell() + nbytes != info.file_size:
                raise self.fail(f"its {_HEADER} entry's size disagrees with its .npy header")
            data = fp.read(nbytes)
            if len(data) != nbytes or fp.read(1):
                raise self.fail(f"its {_HEADER} entry is truncated")
        return data

    def parse_header(self, data):
        try:
            header = json.loads(data.decode("utf-8"), parse_constant=_no_constant,
                                object_pairs_hook=_no_duplicates)
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self.fail(f"its header is not valid JSON ({type(exc).__name__}: "
                            f"{str(exc)[:200]})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise self.fail(f"is not a fastbp model file: its {_HEADER} entry is not a "
                            f"fastbp header")
        version = header.get("format_version")
        if type(version) is not int or version < 1:
            raise self.fail(f"its header has an invalid format_version {version!r}")
        if version > FORMAT_VERSION:
            raise self.fail(f"was written by a newer fastbp (format version {version}, "
                            f"fastbp {header.get('fastbp_version')!r}); this fastbp reads "
                            f"format version {FORMAT_VERSION} and older: upgrade fastbp")
        if set(header) != _HEADER_KEYS:
            raise self.fail(f"its header has the keys {sorted(header)}, expected "
                            f"{sorted(_HEADER_KEYS)}")
        kind = header["kind"]
        if not isinstance(kind, str) or not _KIND.fullmatch(kind):
            raise self.fail(f"its header has an invalid kind {_short(kind)}")
        if not isinstance(header["fastbp_version"], str):
            raise self.fail("its header has an invalid fastbp_version")
        if not isinstance(header["meta"], dict):
            raise self.fail("its header's meta is not a JSON object")
        listing, seen = [], set()
        if not isinstance(header["arrays"], list):
            raise self.fail("its header's arrays is not a list")
        for entry in header["arrays"]:
            name, dtype, shape = self.parse_array(entry)
            if name in seen:
                raise self.fail(f"its header lists the array {name!r} twice")
            seen.add(name)
            nbytes = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            listing.append((name, dtype, shape, nbytes))
        return {"kind": kind, "meta": header["meta"], "arrays": listing}

    def parse_array(self, entry):
        if not isinstance(entry, dict) or set(entry) != {"name", "dtype", "shape"}:
            raise self.fail(f"its header has an invalid array entry {_short(entry)}")
        name, dtype, shape = entry["name"], entry["dtype"], entry["shape"]
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.startswith("__"):
            raise self.fail(f"its header lists an invalid array name {_short(name)}")
        if not isinstance(dtype, str) or not _DTYPE.fullmatch(dtype):
            what = "an object array (pickled Python objects), which fastbp never loads" \
                if isinstance(dtype, str) and "O" in dtype else f"the dtype {_short(dtype)}"
            raise self.fail(f"its header declares {what} for the array {_short(name)}")
        if (not isinstance(shape, list) or len(shape) > _MAX_NDIM
                or any(type(d) is not int or d < 0 for d in shape)):
            raise self.fail(f"its header declares an invalid shape {_short(shape)} for the "
                            f"array {name!r}")
        return name, np.dtype(dtype), tuple(shape)

    def npy_header(self, fp, name):
        """(shape, dtype, fortran_order) from an entry's .npy header (numpy parses it with
        ast.literal_eval, which evaluates no code)."""
        try:
            major, _ = np.lib.format.read_magic(fp)
            if major == 1:
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif major in (2, 3):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                raise ValueError(f"unknown .npy version {major}")
        except (ValueError, SyntaxError, TypeError, EOFError) as exc:
            raise self.fail(f"its entry {name!r} is not a valid .npy array ({exc})") from None
        if dtype.hasobject:
            raise self.fail(f"its entry {name!r} is an object array (pickled Python "
                            f"objects), which fastbp never loads")
        if fortran and len(shape) > 1:
            raise self.fail(f"its entry {name!r} is in Fortran order; fastbp writes C order")
        return shape, dtype, fortran

    def entry_header(self, zf, info, name):
        """(shape, dtype, bytes of data) of an entry, from its .npy header."""
        with zf.open(info) as fp:
            shape, dtype, _ = self.npy_header(fp, name)
            return tuple(shape), dtype, info.file_size - fp.tell()

    def read_entry(self, zf, info, name, dtype, shape, nbytes):
        with zf.open(info) as fp:
            got_shape, got_dtype, _ = self.npy_header(fp, name)
            if got_dtype != dtype or tuple(got_shape) != tuple(shape) \
                    or fp.tell() + nbytes != info.file_size:
                raise self.fail(f"its entry {name!r} is not the {dtype} array of shape "
                                f"{tuple(shape)} the header declares")
            buf = bytearray(nbytes)
            view = memoryview(buf)
            pos = 0
            while pos < nbytes:
                n = fp.readinto(view[pos:pos + _CHUNK])
                if not n:
                    raise self.fail(f"its entry {name!r} is truncated")
                pos += n
            if fp.read(1):  # also makes zipfile check the entry's CRC-32
                raise self.fail(f"its entry {name!r} is longer than declared")
        return np.frombuffer(buf, dtype=dtype).reshape(shape)


def _no_constant(name):
    raise ValueError(f"{name} is not allowed")


def _no_duplicates(pairs):
    out = {}
    for k, val in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = val
    return out


def _short(value, limit=80):
    return v._short(value, limit)


def _listing(names, limit=8):
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# ---------------------------------------------------------------------------- loading
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


# ---------------------------------------------------------------------------- Network
_ARCH_KEYS = ("sizes", "hidden", "output", "loss", "init", "dtype")
_NET_KEYS = set(_ARCH_KEYS) | {"generator", "history"}
_HISTORY_FLAGS = {"best_epoch", "stopped_early", "interrupted"}


def network_parts(net, generator=True, history=True, prefix=""):
    """``(meta, arrays)`` describing ``net``: theta (``arrays[prefix + "theta"]``), the layout,
    activation and loss names, init and dtype; with ``generator`` the state of its random
    generator (so that ``fit`` after loading shuffles as the original would); with
    ``history`` its ``history_`` (if any). ``network_from_parts`` rebuilds it."""
    theta = net.theta
    bad = ~np.isfinite(theta)
    if bad.any():
        raise ValueError(f"theta holds {int(bad.sum())} non-finite value(s) (the first at "
                         f"index {int(np.argmax(bad))}); a model file holds finite "
                         f"parameters only")
    meta = _arch_meta(net)
    meta["generator"] = generator_to_json(net._rng) if generator else None
    arrays = {prefix + "theta": theta.copy()}
    meta["history"] = None
    if history and net.history_ is not None:
        meta["history"], hist_arrays = _history_parts(net.history_, prefix)
        arrays.update(hist_arrays)
    return meta, arrays


def network_from_parts(meta, arrays, prefix=""):
    """The ``Network`` that ``network_parts`` described (ValueError/TypeError if the parts
    are not a valid network). Without a stored generator state the network gets a fresh,
    unseeded generator."""
    meta = _dict("meta", meta, _NET_KEYS)
    theta = _get(arrays, prefix + "theta")
    return _network(meta, theta, meta["generator"], meta["history"], arrays, prefix)


def _load_network(meta, arrays):
    net = network_from_parts(meta, arrays)
    _no_extra(arrays, ["theta"] + _history_names(meta["history"], ""))
    return net


def _arch_meta(net):
    return {"sizes": list(net.sizes), "hidden": list(net.hidden), "output": net.output,
            "loss": net.loss_name, "init": net.init, "dtype": net.dtype.name}


def _network(arch, theta, generator, history, arrays, prefix):
    """A Network from validated-here architecture names, a theta array (used as is: the
    caller passes a fresh array or a row of a Population's thetas), generator state and
    history."""
    for key in _ARCH_KEYS:
        if key not in arch:
            raise KeyError(f"meta lacks {key!r}")
    if not isinstance(arch["dtype"], str) or arch["dtype"] not in v.DTYPES:
        raise ValueError(f"dtype must be one of {sorted(v.DTYPES)}, got {_short(arch['dtype'])}")
    if isinstance(arch["hidden"], list):
        hidden_arg = arch["hidden"]
    elif isinstance(arch["hidden"], str):
        hidden_arg = arch["hidden"]
    else:
        raise TypeError(f"hidden must be a name or a list of names, got {_short(arch['hidden'])}")
    for key in ("output", "loss", "init"):
        if not isinstance(arch[key], str):
            raise TypeError(f"{key} must be a name, got {_short(arch[key])}")
    sizes, hidden, output, loss, init, dtype, _ = v.check_architecture(
        arch["sizes"], hidden_arg, arch["output"], arch["loss"], arch["init"], arch["dtype"],
        None)
    layout = Layout(sizes, hidden + (output,), loss)  # no allocation proportional to sizes
    if not isinstance(theta, np.ndarray) or theta.ndim != 1:
        raise ValueError("theta is not a 1-D array")
    if theta.dtype != dtype:
        raise ValueError(f"theta is {theta.dtype}, the network's dtype is {dtype}")
    if theta.shape[0] != layout.n_params:
        raise ValueError(f"theta holds {theta.shape[0]} values but sizes {list(sizes)} need "
                         f"{layout.n_params}")
    bad = ~np.isfinite(theta)
    if bad.any():
        raise ValueError(f"theta holds {int(bad.sum())} non-finite value(s)")
    rng = generator_from_json(generator) if generator is not None else np.random.default_rng()
    net = Network.__new__(Network)
    net.__setstate__({"hidden": hidden, "output": output, "loss_name": loss, "init": init,
                      "dtype": dtype, "layout": layout, "_theta": theta, "_rng": rng,
                      "history_": _history_from(history, arrays, prefix)})
    return net


def _dict(what, value, keys):
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a JSON object, got {_short(value)}")
    missing, extra = sorted(keys - set(value)), sorted(set(value) - keys)
    if missing or extra:
        raise ValueError(f"{what} has the keys {sorted(value)}: "
                         + (f"missing {missing}" if missing else f"unexpected {extra}"))
    return value


def _get(arrays, name):
    if name not in arrays:
        raise KeyError(f"no array {name!r}")
    return arrays[name]


def _no_extra(arrays, names):
    extra = sorted(set(arrays) - set(names))
    if extra:
        raise ValueError(f"unexpected arrays {extra}")


# ---------------------------------------------------------------------------- history
def _history_parts(history, prefix):
    meta = {"best_epoch": history.best_epoch, "stopped_early": bool(history.stopped_early),
            "interrupted": bool(history.interrupted)}
    if meta["best_epoch"] is not None:
        meta["best_epoch"] = int(meta["best_epoch"])
    arrays = {}
    for key in History.KEYS:
        values = getattr(history, key)
        try:
            arr = np.asarray(values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"history_.{key} is not a list of numbers ({exc}); save with "
                             f"history=False") from None
        if arr.ndim != 1:
            raise ValueError(f"history_.{key} is not a list of numbers (shape {arr.shape}); "
                             f"save with history=False")
        arrays[f"{prefix}history.{key}"] = arr
    return meta, arrays


def _history_names(history_meta, prefix):
    return [] if history_meta is None else [f"{prefix}history.{k}" for k in History.KEYS]


def _history_from(meta, arrays, prefix):
    if meta is None:
        return None
    meta = _dict("history", meta, _HISTORY_FLAGS)
    best = meta["best_epoch"]
    if best is not None and (type(best) is not int or best < 1):
        raise ValueError(f"history best_epoch must be None or a positive int, got {_short(best)}")
    for flag in ("stopped_early", "interrupted"):
        if type(meta[flag]) is not bool:
            raise TypeError(f"history {flag} must be true or false")
    history = History()
    history.best_epoch = best
    history.stopped_early, history.interrupted = meta["stopped_early"], meta["interrupted"]
    for key in History.KEYS:
        arr = _get(arrays, f"{prefix}history.{key}")
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype != np.float64:
            raise ValueError(f"history.{key} is not a 1-D float64 array")
        setattr(history, key, [float(x) for x in arr])
    return history


# ---------------------------------------------------------------------------- generators
def generator_to_json(rng):
    """A numpy Generator's bit generator, seed sequence and state as JSON values."""
    bg = rng.bit_generator
    name = type(bg).__name__
    if name not in BIT_GENERATORS or type(bg) is not getattr(np.random, name):
        raise ValueError(f"the network's generator uses the bit generator {name}; a model "
                         f"file stores {', '.join(BIT_GENERATORS)} (save with generator=False)")
    seq = bg.seed_seq
    seq_json = None
    if isinstance(seq, np.random.SeedSequence):
        entropy = seq.entropy
        if entropy is not None and not isinstance(entropy, int):
            entropy = [int(e) for e in np.asarray(entropy).ravel()]
        seq_json = {"entropy": entropy, "spawn_key": [int(k) for k in seq.spawn_key],
                    "pool_size": int(seq.pool_size),
                    "n_children_spawned": int(seq.n_children_spawned)}
    return {"bit_generator": name, "seed_sequence": seq_json, "state": _encode(bg.state)}


def generator_from_json(data):
    """The Generator that ``generator_to_json`` described (ValueError/TypeError if not)."""
    data = _dict("generator", data, {"bit_generator", "seed_sequence", "state"})
    name = data["bit_generator"]
    if name not in BIT_GENERATORS:
        raise ValueError(f"unknown bit generator {_short(name)} (known: {BIT_GENERATORS})")
    seq = data["seed_sequence"]
    if seq is not None:
        seq = _dict("seed_sequence", seq,
                    {"entropy", "spawn_key", "pool_size", "n_children_spawned"})
        entropy = seq["entropy"]
        ok_int = lambda x: type(x) is int and x >= 0  # noqa: E731
        if not (entropy is None or ok_int(entropy)
                or (isinstance(entropy, list) and len(entropy) <= 1024
                    and all(ok_int(e) for e in entropy))):
            raise ValueError("seed_sequence entropy must be a non-negative int or a list of them")
        key = seq["spawn_key"]
        if not isinstance(key, list) or len(key) > 1024 or not all(ok_int(k) for k in key):
            raise ValueError("seed_sequence spawn_key must be a list of non-negative ints")
        pool, spawned = seq["pool_size"], seq["n_children_spawned"]
        if not (ok_int(pool) and 4 <= pool <= 1024) or not ok_int(spawned):
            raise ValueError("seed_sequence pool_size / n_children_spawned out of range")
        seq = np.random.SeedSequence(entropy, spawn_key=tuple(key), pool_size=pool,
                                     n_children_spawned=spawned)
    bg = getattr(np.random, name)(seq)
    state = _decode(data["state"])
    if not isinstance(state, dict) or state.get("bit_generator") != name:
        raise ValueError(f"the generator state is not a {name} state")
    bg.state = state
    return np.random.Generator(bg)


def _encode(value):
    if isinstance(value, dict):
        return {str(k): _encode(x) for k, x in value.items()}
    if isinstance(value, np.ndarray):
        return {"__ndarray__": value.dtype.str, "values": [int(x) for x in value.ravel()]}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"cannot store a generator state holding {type(value).__name__}")


def _decode(value, depth=0):
    if depth > 4:
        raise ValueError("the generator state is nested too deeply")
    if isinstance(value, dict):
        if "__ndarray__" in value:
            value = _dict("generator state array", value, {"__ndarray__", "values"})
            dtype, values = value["__ndarray__"], value["values"]
            if dtype not in ("<u4", "<u8", "|u1", "<i4", "<i8") or not isinstance(values, list) \
                    or len(values) > 1 << 16 or not all(type(x) is int for x in values):
                raise ValueError("invalid array in the generator state")
            return np.array(values, dtype=dtype)
        return {k: _decode(x, depth + 1) for k, x in value.items()}
    if type(value) in (int, str, bool):
        return value
    raise TypeError(f"invalid value in the generator state: {_short(value)}")


# ---------------------------------------------------------------------------- Population
def population_parts(pop, generator=True, history=True):
    """``(meta, arrays)`` describing a Population: the architecture, ``thetas`` and, per
    member, its generator state and history (as ``network_parts``)."""
    bad = ~np.isfinite(pop.thetas)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1)).tolist()
        raise ValueError(f"thetas of members {rows} hold non-finite values; a model file "
                         f"holds finite parameters only")
    members, arrays = [], {"thetas": pop.thetas.copy()}
    for r, m in enumerate(pop.members):
        entry = {"generator": generator_to_json(m._rng) if generator else None, "history": None}
        if history and m.history_ is not None:
            entry["history"], hist = _history_parts(m.history_, f"members.{r}.")
            arrays.update(hist)
        members.append(entry)
    return {"network": _arch_meta(pop.members[0]), "members": members}, arrays


def population_from_parts(meta, arrays):
    """The Population that ``population_parts`` described."""
    meta = _dict("meta", meta, {"network", "members"})
    arch = _dict("meta['network']", meta["network"], set(_ARCH_KEYS))
    members = meta["members"]
    if not isinstance(members, list) or not members:
        raise ValueError("members must be a non-empty list")
    thetas = _get(arrays, "thetas")
    if not isinstance(thetas, np.ndarray) or thetas.ndim != 2 \
            or thetas.shape[0] != len(members):
        raise ValueError(f"thetas must be a 2-D array with one row per member "
                         f"({len(members)}), got shape {getattr(thetas, 'shape', None)}")
    thetas = np.ascontiguousarray(thetas)
    nets, names = [], ["thetas"]
    for r, entry in enumerate(members):
        entry = _dict(f"members[{r}]", entry, {"generator", "history"})
        nets.append(_network(arch, thetas[r], entry["generator"], entry["history"], arrays,
                             f"members.{r}."))
        names += _history_names(entry["history"], f"members.{r}.")
    _no_extra(arrays, names)
    pop = Population.__new__(Population)
    pop.members, pop.dtype, pop.thetas = nets, nets[0].dtype, thetas
    pop._attach()
    return pop
