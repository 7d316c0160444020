"""Run every tutorial notebook from top to bottom and fail on the first error (CI runs this).

    MINIGRAD_NOTEBOOK_QUICK=1 python docs/tutorials/run_notebooks.py            # all notebooks
    MINIGRAD_NOTEBOOK_QUICK=1 python docs/tutorials/run_notebooks.py a.ipynb    # some of them
    python docs/tutorials/run_notebooks.py --write /tmp/executed                # keep the outputs

The notebooks are stored without outputs; the docs build (myst-nb) executes them again to show
their outputs on the site. ``MINIGRAD_NOTEBOOK_QUICK=1`` makes the training notebooks use a
small subset and one epoch.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

HERE = Path(__file__).resolve().parent


def use_clean_ipython_profile():
    """Run the notebook kernels with a fresh IPython profile (set ``$IPYTHONDIR``): the reader's
    startup files cannot change the results, and the kernel logs only errors (ipykernel >= 7
    otherwise warns on every start that it talks to us over local TCP)."""
    folder = Path(tempfile.mkdtemp(prefix="minigrad-ipython-"))
    profile = folder / "profile_default"
    profile.mkdir()
    (profile / "ipython_kernel_config.py").write_text('c.IPKernelApp.log_level = "ERROR"\n')
    os.environ["IPYTHONDIR"] = str(folder)
    return folder


def execute(path, timeout):
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return notebook


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to run (default: every docs/tutorials/*.ipynb)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--write", type=Path, help="folder to write the executed notebooks to")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(HERE.glob("*.ipynb"))
    use_clean_ipython_profile()
    failed = []
    for path in paths:
        start = time.perf_counter()
        try:
            notebook = execute(path, args.timeout)
        except CellExecutionError as error:
            print(f"FAILED {path}:\n{error}", file=sys.stderr)
            failed.append(path)
            continue
        print(f"ok     {path.name} ({time.perf_counter() - start:.1f} s)")
        if args.write:
            args.write.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, args.write / path.name)
    if failed:
        print(f"{len(failed)} of {len(paths)} notebooks failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
