"""The wheel ships every subpackage: an installed ``fastbp bench`` once missed ``fastbp.bench``
because the tests import the source tree, not the installed package."""
import fnmatch
import pathlib

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_package_directory_is_installed():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "fastbp").rglob("__init__.py")}
    missed = {name for name in found if not any(fnmatch.fnmatchcase(name, pat) for pat in include)}
    assert not missed, f"pyproject's packages.find include {include} misses {sorted(missed)}"
    # every folder of .py files is a package (a folder without __init__.py would not install)
    folders = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "fastbp").rglob("*.py")
               if "__pycache__" not in p.parts}
    assert folders <= found, f"folders without __init__.py: {sorted(folders - found)}"
