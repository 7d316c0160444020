"""Install hints say how minigrad is really installed (from its clone), never
``pip install 'minigrad[...]'``: 'minigrad' on the package index is another project."""

import re
import sys
from pathlib import Path

import pytest

from minigrad.extras import extra_requirements, install_hint

ROOT = Path(__file__).resolve().parents[1]


def declared_extras():
    tomllib = pytest.importorskip("tomllib") if sys.version_info < (3, 11) else __import__(
        "tomllib")
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["optional-dependencies"]


def normalized(requirements):
    """Requirement strings as installed metadata writes them (specifiers sorted:
    'waitress>=3.0.1,<3.1' is stored as 'waitress<3.1,>=3.0.1')."""
    from packaging.requirements import Requirement

    return [str(Requirement(requirement)) for requirement in requirements]


def test_hints_name_the_declared_packages_and_the_extra_in_the_clone():
    for extra, packages in declared_extras().items():
        assert normalized(extra_requirements(extra)) == normalized(packages), \
            f"reinstall: pip install -e . ({extra})"
        hint = install_hint(extra)
        assert f'in your minigrad clone: pip install -e ".[{extra}]"' in hint
        for package in normalized(packages):
            assert f"'{package}'" in hint


def test_an_unknown_extra_still_points_to_the_clone():
    assert install_hint("nope") == 'in your minigrad clone: pip install -e ".[nope]"'


def test_missing_matplotlib_says_what_to_install(monkeypatch):
    import minigrad as mg

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    history = mg.train.history.History()
    with pytest.raises(ImportError, match=r"needs matplotlib: pip install 'matplotlib>=3.7' "
                                          r'\(or, in your minigrad clone: pip install -e '
                                          r'"\.\[plot\]"\)'):
        history.plot()


def test_no_hint_anywhere_says_pip_install_minigrad_extras():
    pattern = re.compile(r"""pip install\s+["']?minigrad\[|install minigrad\[""")
    offenders = []
    for folder in ("minigrad", "docs", "examples", "benchmarks", "tests", "exercises"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix not in (".py", ".rst", ".md", ".ipynb", ".sh") or path == Path(
                    __file__):
                continue
            for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}")
    readme = (ROOT / "README.md").read_text()
    offenders += ["README.md"] if pattern.search(readme) else []
    assert not offenders, offenders


def test_the_install_page_names_every_dependency_and_extra():
    tomllib = pytest.importorskip("tomllib") if sys.version_info < (3, 11) else __import__(
        "tomllib")
    with open(ROOT / "pyproject.toml", "rb") as file:
        project = tomllib.load(file)["project"]
    page = (ROOT / "docs" / "install.rst").read_text()
    for requirement in project["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)
        assert f"``{name}``" in page, f"docs/install.rst does not list {name}"
    for extra in project["optional-dependencies"]:
        assert f"* - ``{extra}``" in page, f"docs/install.rst does not describe the {extra} extra"
