"""Sphinx configuration for the minigrad documentation.

Build from the repository root (CI runs exactly this; warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

Only Sphinx's own extensions and its default theme are used, and nothing is fetched from the
network (no intersphinx), so the build works offline with ``pip install -e .[dev]``.
"""

import importlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Import the package from this checkout even when it is not pip-installed.
sys.path.insert(0, str(ROOT))

import minigrad  # noqa: E402

# -- Project -------------------------------------------------------------------------------------
project = "minigrad"
author = "The minigrad team"
copyright = "the minigrad team"
version = release = minigrad.__version__

# -- General -------------------------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx.ext.doctest",
    "myst_nb",                 # the tutorial notebooks in docs/tutorials/
]
exclude_patterns = ["_build", "api/generated", "**.ipynb_checkpoints"]
templates_path = []
default_role = "any"       # `Tensor` in prose links to the object when it exists
primary_domain = "py"
highlight_language = "python3"
pygments_style = "sphinx"

# Broken cross-references are warnings (and so build errors under -W): a renamed function
# cannot silently leave a dead link behind. Only NumPy's names and threading.Event have no
# target (no intersphinx).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|cupy)(\..*)?"),
    (r"py:class", r"threading\.Event"),     # the standard library's, without intersphinx
]

# -- autodoc / autosummary / napoleon --------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "none"           # the library has no annotations; docstrings say the types
autodoc_default_options = {}
autosummary_generate = False         # the API pages are written by hand: nothing to commit
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = False            # "Attributes:" sections become documented attributes
napoleon_use_rtype = False
# Note: napoleon reads the first line of an attribute's or property's docstring as
# "type: description" when it has a colon, so "The array module: numpy or cupy." would make
# "The array module" a (broken) type link. Start such docstrings without "words: ...".
add_module_names = False
toc_object_entries = False

# -- doctest (``python -m sphinx -b doctest docs /tmp/doctest`` runs every example) ----------------
doctest_global_setup = """
import numpy as np
import minigrad as mg
from minigrad.autograd import sum_to
from minigrad.dtypes import as_dtype
mg.manual_seed(0)
"""

# -- Notebooks (myst-nb) ---------------------------------------------------------------------------
# The tutorials are stored without outputs; the build runs them (small data unless the caller set
# MINIGRAD_NOTEBOOK_QUICK=0) and caches the results until a notebook changes, so the html and
# doctest builds run them once. An error in a notebook fails the build.
os.environ.setdefault("MINIGRAD_NOTEBOOK_QUICK", "1")
sys.path.insert(0, str(ROOT / "docs" / "tutorials"))
from run_notebooks import use_clean_ipython_profile  # noqa: E402

use_clean_ipython_profile()
nb_execution_mode = "cache"
nb_execution_cache_path = str(ROOT / "docs" / "_build" / ".jupyter_cache")
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_output_stderr = "remove"    # library warnings (tqdm's) are noise on a tutorial page
nb_merge_streams = True

# -- HTML ------------------------------------------------------------------------------------------
html_theme = "alabaster"
html_title = f"minigrad {release}"
html_static_path = []
html_theme_options = {
    "description": "A readable deep learning library, built from scratch.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}


# -- API coverage ----------------------------------------------------------------------------------
# Every public name of these modules must be documented somewhere in docs/ (under any of the names
# it is exported as). A name that is missing is a warning, so the -W build fails: adding a public
# function without adding it to the API reference is caught in CI.
COVERED_MODULES = ["minigrad", "minigrad.functional", "minigrad.autograd", "minigrad.testing",
                   "minigrad.backends", "minigrad.cuda", "minigrad.dtypes", "minigrad.nn",
                   "minigrad.train", "minigrad.io", "minigrad.train.callbacks",
                   "minigrad.optim", "minigrad.nn.losses", "minigrad.train.metrics",
                   "minigrad.viz", "minigrad.data", "minigrad.datasets",
                   "minigrad.datasets.files", "minigrad.serve", "minigrad.export",
                   "minigrad.export.onnx", "minigrad.distributed"]
# Class attributes that are implementation details, not API.
COVERAGE_EXEMPT = {"no_grad.enabled", "enable_grad.enabled", "set_grad_enabled.enabled"}


_MISSING = object()


def _resolve(fullname):
    """The object that a dotted name documents, or _MISSING.

    Attributes win over submodules of the same name: ``minigrad.functional.matmul`` is the
    function that ``functional/__init__.py`` imports, not the module ``matmul.py``.
    """
    parts = fullname.split(".")
    try:
        obj = importlib.import_module(parts[0])
    except ImportError:
        return _MISSING
    for i, attr in enumerate(parts[1:], start=1):
        if hasattr(obj, attr):
            obj = getattr(obj, attr)
            continue
        try:
            obj = importlib.import_module(".".join(parts[:i + 1]))
        except ImportError:
            return _MISSING
    return obj


def _key(name, obj):
    """(short name, identity): the same object under the same short name counts as documented."""
    return name.rsplit(".", 1)[-1], id(getattr(obj, "__func__", obj))


def _public_names(module):
    if hasattr(module, "__all__"):
        return list(module.__all__)
    names = []
    for name, obj in vars(module).items():
        if name.startswith("_") or type(obj).__name__ == "module":
            continue
        defined_here = getattr(obj, "__module__", module.__name__) == module.__name__
        if defined_here or not (callable(obj) or isinstance(obj, type)):
            names.append(name)
    return names


def check_api_coverage(app, env):
    from sphinx.util import logging

    logger = logging.getLogger("minigrad.coverage")
    py = env.get_domain("py")
    documented, keep_alive = set(), []
    for fullname in py.objects:
        obj = _resolve(fullname)
        if obj is not _MISSING:
            keep_alive.append(obj)
            documented.add(_key(fullname, obj))
    modules = set(py.modules)

    for module_name in COVERED_MODULES:
        module = importlib.import_module(module_name)
        if module_name not in modules:
            logger.warning("API reference: module %s is not documented (add an automodule)",
                           module_name)
        for name in _public_names(module):
            obj = getattr(module, name)
            if type(obj).__name__ == "module":
                if obj.__name__ not in modules:
                    logger.warning("API reference: module %s is not documented", obj.__name__)
                continue
            if _key(name, obj) not in documented:
                logger.warning("API reference: %s.%s is public but not documented in docs/",
                               module_name, name)
            if isinstance(obj, type) and obj.__module__.startswith("minigrad"):
                for member, value in vars(obj).items():
                    if member.startswith("_") or f"{name}.{member}" in COVERAGE_EXEMPT:
                        continue
                    value = getattr(obj, member)
                    # An override of a documented base-class member shares its documentation.
                    overrides = any(member in vars(base) and _key(member, getattr(base, member))
                                    in documented for base in obj.__mro__[1:])
                    if not overrides and _key(member, value) not in documented:
                        logger.warning("API reference: %s.%s.%s is public but not documented in "
                                       "docs/", module_name, name, member)


def setup(app):
    app.connect("env-check-consistency", check_api_coverage)
    return {"parallel_read_safe": True}
