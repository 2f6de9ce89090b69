"""Writing model files: ``write`` and the atomic ``atomic_write`` under it."""
import contextlib
import json
import os
import stat
import tempfile
import zipfile

import numpy as np

from ._format import (_CHECKSUM, _DTYPE, _HEADER, _KIND, _MAX_NDIM, _NAME, _ZIP_DATE, FORMAT,
                      FORMAT_VERSION, MAX_HEADER_BYTES, _digest)


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
    from .. import __version__
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
