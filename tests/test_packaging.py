"""The wheel ships every subpackage: an installed ``fastbp bench`` once missed ``fastbp.bench``
because the tests import the source tree, not the installed package."""
import pathlib

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_every_package_directory_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "fastbp").rglob("__init__.py")}
    assert found == listed, f"pyproject packages {sorted(listed)} but the tree has {sorted(found)}"
