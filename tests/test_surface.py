"""qa/, app/ and evaluation/ use the index only through its public surface (index/__init__.py), and that surface
holds; every library module stays at most 300 lines; nothing in the library reaches up into evaluation/ or training/."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import index

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("update",)  # index modules used as namespaces


def _index_imports(path: Path) -> list[tuple[int, str]]:
    """(line, name) of every name a file takes from the index package or one of its modules."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "index":
            found += [(node.lineno, f"{node.module}:{a.name}") for a in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "index"]
    return found


USERS = ("qa", "app", "evaluation")  # packages that use the index


@pytest.mark.parametrize("path", sorted(p for package in USERS for p in (ROOT / package).glob("*.py")), ids=str)
def test_users_of_the_index_take_only_its_public_names(path: Path) -> None:
    public = set(index.__all__) | set(MODULES)
    outside = [f"line {n}: {what}" for n, what in _index_imports(path) if not what.startswith("index:")]
    outside += [f"line {n}: {what}" for n, what in _index_imports(path) if what.split(":")[-1] not in public]
    assert not outside, f"{path.name} reaches inside index/: {outside}"


def test_every_public_name_resolves() -> None:
    for name in index.__all__:
        assert getattr(index, name) is not None, name
    with pytest.raises(AttributeError):
        index.no_such_name  # noqa: B018


def test_importing_the_package_loads_no_model_code() -> None:
    code = "import sys, index; from index import normalize; print('torch' in sys.modules, 'faiss' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


@pytest.mark.parametrize("package", ["index", "qa", "app", "evaluation"])
def test_every_library_module_is_at_most_300_lines(package: str) -> None:
    long = {
        p.name: n for p in (ROOT / package).glob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert not long, f"split these by job: {long}"


@pytest.mark.parametrize(
    "path", sorted(p for package in ("index", "qa") for p in (ROOT / package).glob("*.py")), ids=str
)
def test_the_library_never_imports_evaluation_or_training(path: Path) -> None:
    """index → qa is the library; evaluation and training sit beside it and use it, never the other way."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = [n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module]
    names += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [m for m in names if m.split(".")[0] in ("evaluation", "training", "bench")], path.name


def test_every_package_the_installed_code_imports_is_installed() -> None:
    """`qa` runs from an installed package: what app/, qa/, index/ and evaluation/ import of this repository must
    be listed in pyproject.toml's packages (evaluation once was not, and `qa` failed outside the checkout)."""
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    installed = {p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    ours = {p.name for p in ROOT.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    for package in installed:
        for path in (ROOT / package).glob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            names = {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
            names |= {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
            assert names & ours <= installed, f"{path.name} imports {sorted(names & ours - installed)}, not installed"
