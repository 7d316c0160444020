"""Imports point downwards only (``../shared/design/ARCHITECTURE.md``): each part of the package
imports parts of a lower layer, never one above it, also inside functions."""

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "minigrad"

# Bottom to top. Parts on one line are one layer and may import each other.
LAYERS = [
    {"dtypes", "extras", "console", "backends"},
    {"autograd", "creation", "cuda"},
    {"io", "testing", "viz"},
    {"data", "datasets"},
    {"functional"},
    {"nn"},
    {"optim"},
    {"distributed"},
    {"train"},
    {"export"},
    {"keras"},
    {"serve"},
    {"cli", "__main__"},
]
RANK = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}
# The one documented exception: the Tensor's methods call the ops, which need Tensor.
ALLOWED_UPWARD = {("autograd/tensor.py", "functional")}


def part_of(dotted):
    """'minigrad.nn.layers.core' -> 'nn'; the package root itself -> None."""
    pieces = dotted.split(".")
    return pieces[1] if len(pieces) > 1 else None


def imported_parts(path):
    """(line, part) for every minigrad part that the file at ``path`` imports."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    package = package.removesuffix(".__init__")
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            targets = [target] if node.module else [f"{target}.{a.name}" for a in node.names]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("minigrad."):
            targets = [node.module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("minigrad.")]
        else:
            continue
        for target in targets:
            yield node.lineno, part_of(target)


def source_files():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or
                  p.name != "__init__.py")


def test_every_part_of_the_package_has_a_layer():
    parts = {part_of(".".join(p.relative_to(PACKAGE.parent).with_suffix("").parts))
             for p in source_files()}
    assert parts <= set(RANK), f"add {sorted(parts - set(RANK))} to LAYERS (and ARCHITECTURE.md)"


@pytest.mark.parametrize("path", source_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_downwards(path):
    relative = path.relative_to(PACKAGE).as_posix()
    own = relative.split("/")[0].removesuffix(".py")
    upward = [f"line {line}: imports minigrad.{part}"
              for line, part in imported_parts(path)
              if part is not None and part in RANK and RANK[part] > RANK[own]
              and (relative, part) not in ALLOWED_UPWARD]
    assert not upward, f"{relative} ({own}) imports a layer above it: {upward}"


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    # A file of io importing train, as model_file.py once did, must be caught.
    folder = tmp_path / "minigrad" / "io"
    folder.mkdir(parents=True)
    bad = folder / "bad.py"
    bad.write_text("def f():\n    from ..train.sequential import Sequential\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "minigrad")
    assert list(imported_parts(bad)) == [(2, "train")]
    with pytest.raises(AssertionError, match="io.*imports a layer above it"):
        test_imports_point_downwards(bad)
