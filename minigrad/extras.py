"""How to install what an optional feature needs, said the way minigrad is installed.

minigrad is installed from its repository (``pip install -e .`` in a clone); the name
``minigrad`` on the package index belongs to another project, so a hint must never send users
to the index for minigrad's extras. Hints name the packages themselves (read from the installed
package's metadata, so they always match ``pyproject.toml``) and the extra to use in the clone.
"""

import re
from importlib import metadata

_EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def extra_requirements(extra):
    """The requirement strings of the optional extra ``extra`` (``"plot"`` ->
    ``["matplotlib>=3.7"]``), from the installed metadata; ``[]`` when minigrad's metadata is
    not installed (a source tree on ``sys.path``) or the extra does not exist."""
    try:
        requirements = metadata.requires("minigrad") or []
    except metadata.PackageNotFoundError:
        return []
    wanted = []
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        found = _EXTRA_MARKER.search(marker)
        if found and found.group(1) == extra:
            wanted.append(spec.strip())
    return wanted


def install_hint(extra):
    """The command that installs what ``extra`` brings, e.g. for ``"plot"``:
    ``pip install 'matplotlib>=3.7' (or, in your minigrad clone: pip install -e ".[plot]")``.

    >>> from minigrad.extras import install_hint
    >>> install_hint("plot").endswith('in your minigrad clone: pip install -e ".[plot]")')
    True
    """
    in_clone = f'in your minigrad clone: pip install -e ".[{extra}]"'
    packages = extra_requirements(extra)
    if not packages:
        return in_clone
    return "pip install " + " ".join(f"'{p}'" for p in packages) + f" (or, {in_clone})"
