"""Compiled code that cannot go stale: fastbp's rules for numba's on-disk cache.

numba checks a cached function against the one file that defines it. A fastbp kernel
inlines code from several modules (activations, losses, building blocks), so after an
upgrade or an edit of ``activations.py`` the cached ``kernels.py`` entries would keep
running the old activation. Here every cache entry of fastbp's source is stamped with
``SOURCE_STAMP``, a hash of all of fastbp's Python source: when any of it changes, every
entry is stale and is compiled afresh (numba overwrites a stale index in place, so old
entries do not pile up).

Your own ``@njit(cache=True)`` code that calls fastbp's kernels has the same problem: call
``fastbp.cache.watch(__file__)`` before defining it and its entries carry the same stamp
(or key your own cache on ``fastbp.SOURCE_STAMP``). ``clear_cache()`` deletes fastbp's
cache files (for instance before ``pip uninstall``, which does not know about them).

Where fastbp's cache lives is numba's choice, in numba's order: ``NUMBA_CACHE_DIR`` if set,
else the package's ``__pycache__`` if writable, else the user's cache directory
(``$XDG_CACHE_HOME`` or ``~/.cache``). Where none is writable (a read-only install and a
read-only home), fastbp compiles in memory on every start, with one warning.
"""
import glob
import hashlib
import os
import threading
import warnings

from numba.core import caching, config

# numba renamed ``_CacheImpl`` to ``CacheImpl``; the list of locators is its class attribute
_CACHE_IMPL = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl")
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _source_files(root):
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [os.path.join(folder, f) for f in files if f.endswith(".py")]
    return sorted(found)


def source_stamp(root=PACKAGE_DIR):
    """SHA-256 (hex) of every ``.py`` file under ``root``: paths relative to it and contents."""
    h = hashlib.sha256()
    for path in _source_files(root):
        h.update(os.path.relpath(path, root).replace(os.sep, "/").encode() + b"\0")
        with open(path, "rb") as f:
            h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()


#: hash of fastbp's whole Python source; changes with any edit or upgrade
SOURCE_STAMP = source_stamp()

_watched = {PACKAGE_DIR}
_lock = threading.Lock()


def watch(path):
    """Stamp the numba cache entries of the functions defined in ``path`` (a file, or a
    folder and everything under it) with ``SOURCE_STAMP``, so that they are compiled afresh
    whenever fastbp's source changes. Call it before the ``@njit(cache=True)`` decorators run:
    numba picks a function's cache rules when it is decorated."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file or folder name (str or os.PathLike), got "
                        f"{type(path).__name__} {path!r}; pass __file__ from your module")
    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise ValueError(f"path={path!r} does not exist; pass the file that defines your "
                         "cached functions (__file__) or its folder")
    with _lock:
        _watched.add(path)


def _is_watched(py_file):
    path = os.path.abspath(py_file)
    return any(path == w or path.startswith(w + os.sep) for w in _watched)


class StampedLocator(caching._CacheLocator):
    """numba's own choice of cache location for a watched file, with the source stamp of
    that file extended by ``SOURCE_STAMP``."""

    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        # numba reads other attributes of its locators too (``_py_file`` when it warns
        # that a function cannot be cached): they are the inner locator's
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)

    def ensure_cache_path(self):
        self._inner.ensure_cache_path()

    def get_cache_path(self):
        return self._inner.get_cache_path()

    def get_source_stamp(self):
        return (self._inner.get_source_stamp(), SOURCE_STAMP)

    def get_disambiguator(self):
        return self._inner.get_disambiguator()

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _is_watched(py_file):
            return None
        inner = _numba_locator(py_func, py_file)
        return None if inner is None else cls(inner)


def _numba_locator(py_func, py_file):
    """The locator numba itself would use for this function, or None if none works."""
    for other in _CACHE_IMPL._locator_classes:
        if other is not StampedLocator:
            found = other.from_function(py_func, py_file)
            if found is not None:
                return found
    return None


def _install():
    classes = _CACHE_IMPL._locator_classes
    classes[:] = [c for c in classes if c.__name__ != StampedLocator.__name__]
    classes.insert(0, StampedLocator)


_install()


_cache_ok = {}
_warned = []


def can_cache(func):
    """Whether numba finds a writable cache location for ``func`` (a fastbp function). If not,
    fastbp compiles it in memory: warns once per process and returns False."""
    folder = os.path.dirname(os.path.abspath(func.__code__.co_filename))
    if folder not in _cache_ok:
        ok = _numba_locator(func, func.__code__.co_filename) is not None
        if not ok and not _warned:
            _warned.append(folder)
            warnings.warn(
                f"fastbp finds no writable numba cache location for {folder} (the package's "
                "__pycache__ and the user's cache directory are read-only): its kernels are "
                "compiled in memory at every start. Set NUMBA_CACHE_DIR to a writable folder to "
                "keep them across runs.", RuntimeWarning, stacklevel=3)
        _cache_ok[folder] = ok
    return _cache_ok[folder]


def cache_dirs():
    """Every folder where numba may have cached fastbp's functions (existing ones only)."""
    dirs = set()
    for folder in {os.path.dirname(p) for p in _source_files(PACKAGE_DIR)}:
        dirs.add(os.path.join(folder, "__pycache__"))
        sub = caching._CacheLocator.get_suitable_cache_subpath(os.path.join(folder, "x.py"))
        if config.CACHE_DIR:
            dirs.add(os.path.join(config.CACHE_DIR, sub))
        dirs.add(os.path.join(caching.AppDirs(appname="numba", appauthor=False).user_cache_dir, sub))
    return sorted(d for d in dirs if os.path.isdir(d))


def clear_cache():
    """Delete every numba cache file (``.nbi`` index, ``.nbc`` code) of fastbp's functions.

    Returns the number of files deleted. Functions already loaded in this process keep
    running; the next process compiles them afresh. Your own cached functions live beside
    your source (or in ``NUMBA_CACHE_DIR``) and are not touched.
    """
    removed = 0
    for folder in cache_dirs():
        for path in glob.glob(os.path.join(folder, "*.nb[ic]")):
            try:
                os.remove(path)
                removed += 1
            except FileNotFoundError:
                pass
    return removed
