"""Where progress output goes: whether the user watches a terminal or a notebook (a bar that
redraws itself) or the output is redirected to a file (plain lines), and which tqdm bar fits.

Nothing here imports tqdm's notebook support unless a notebook with ipywidgets is running, so
``import minigrad`` never prints tqdm's "IProgress not found" warning."""

import importlib.util
import shutil
import sys


def in_notebook():
    """True inside a Jupyter kernel (IPython's kernel app is running)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # an IPython too old or half imported: treat as a plain console
        return False
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def has_widgets():
    """True if ipywidgets is installed (the ``notebook`` extra), needed for notebook bars."""
    return importlib.util.find_spec("ipywidgets") is not None


def is_interactive(stream=None):
    """True if ``stream`` (default stdout) is watched live: a terminal or a notebook. Output
    redirected to a file or a pipe is not, and gets one line per epoch instead of a bar."""
    if in_notebook():
        return True
    stream = sys.stdout if stream is None else stream
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def bar_class():
    """tqdm's notebook widget bar in a notebook with ipywidgets, its text bar everywhere else."""
    if in_notebook() and has_widgets():
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm


def width():
    """The terminal's width in columns (``COLUMNS`` wins, 80 when unknown)."""
    return shutil.get_terminal_size((80, 24)).columns
