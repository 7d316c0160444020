"""``python -m exercises``: the scoreboard and ``check N``, as a student runs them."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = Path(__file__).resolve().parent / "solutions"


def run(args, cwd):
    return subprocess.run([sys.executable, "-m", "exercises", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=900)


def test_scoreboard_and_check_from_a_copy_with_one_exercise_done(tmp_path):
    shutil.copytree(ROOT / "exercises", tmp_path / "exercises",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SOLUTIONS / "swish.py", tmp_path / "exercises" / "swish.py")
    board = run([], tmp_path)
    assert board.returncode == 1, board.stderr  # not everything is done
    rows = board.stdout.split("\n\n")[0].splitlines()[1:]  # the table, without its header
    lines = {line.split()[0]: line for line in rows}
    assert sorted(int(n) for n in lines) == list(range(1, 13))
    assert "passed" in lines["6"] and "not started" in lines["1"]
    assert "1 of 12 exercises passed" in board.stdout

    done = run(["check", "6"], tmp_path)
    assert done.returncode == 0 and "Exercise 6" in done.stdout and "-- passed" in done.stdout
    todo = run(["check", "1"], tmp_path)
    assert todo.returncode == 1 and "not started" in todo.stdout
    assert "FAIL scalar_autograd" in todo.stdout and "NotImplementedError" in todo.stdout


def test_check_refuses_an_exercise_that_does_not_exist():
    result = run(["check", "13"], ROOT)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_check_from_python_as_a_notebook_calls_it(tmp_path, monkeypatch):
    import importlib
    import io

    shutil.copytree(ROOT / "exercises", tmp_path / "exercises",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(SOLUTIONS / "adam.py", tmp_path / "exercises" / "adam.py")
    monkeypatch.syspath_prepend(str(tmp_path))
    for name in [m for m in sys.modules if m == "exercises" or m.startswith("exercises.")]:
        monkeypatch.delitem(sys.modules, name)
    exercises = importlib.import_module("exercises")
    assert Path(exercises.__file__).parent == tmp_path / "exercises"
    printed = io.StringIO()
    report = exercises.check(10, out=printed)
    # part 2 (adam) is solved in this copy, part 1 (sgd_momentum) is not
    assert report.status == "failing" and report.passed > 0
    assert "ok   adam:" in printed.getvalue() and "FAIL sgd_momentum:" in printed.getvalue()


def test_without_pytest_the_scoreboard_says_what_to_install(tmp_path):
    # A Python that cannot import pytest: a sitecustomize that hides it.
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nsys.modules['pytest'] = None\n")
    import os

    env = dict(os.environ, PYTHONPATH=f"{tmp_path}{os.pathsep}{ROOT}")
    result = subprocess.run([sys.executable, "-m", "exercises"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert 'the graders need pytest: pip install -e ".[course]"' in result.stderr
