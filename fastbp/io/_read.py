"""Reading model files: ``read`` and every check it makes on the way."""
import hmac
import json
import math
import os
import zipfile

import numpy as np

from ._format import (_CHECKSUM, _CHUNK, _DTYPE, _HEADER, _HEADER_KEYS, _KIND, _MAX_NDIM, _NAME,
                      _ZIP_ERRORS, FORMAT, FORMAT_VERSION, MAX_HEADER_BYTES, ModelFileError,
                      _digest, _short)


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


def _listing(names, limit=8):
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
