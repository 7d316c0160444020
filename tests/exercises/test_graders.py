"""The course (exercises/): every exercise has a stub, a grader, a reference solution, planted
mistakes and a docs page; each grader passes its reference, finds the stub not started, and
fails each planted mistake with the message it is meant to give.

The reference solutions live here (solutions/<part>.py), not in exercises/, so that a teacher can
hand out exercises/ as it is. The planted mistakes of a part are listed in mistakes/<part>.py:
each replaces a few lines of the reference solution by one typical error (``edits``) and says,
as a regex (``expect``), what the grader must answer. Each check copies a grader next to a
candidate in a temporary folder and runs pytest there, exactly as a student would.
"""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"
SOLUTIONS = Path(__file__).resolve().parent / "solutions"
MISTAKES = Path(__file__).resolve().parent / "mistakes"
NOT_STUBS = {"conftest.py", "course.py", "grading.py", "__init__.py", "__main__.py"}

sys.path.insert(0, str(ROOT))
from exercises.course import COURSE  # noqa: E402  (exercises/ is not an installed package)

PARTS = [part for item in COURSE for part in item.parts]


def run_pytest(path, cwd):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", str(path)], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def grade_candidate(part, source, folder):
    """Run exercises/test_<part>.py against ``source`` (Python text) as exercises/<part>.py."""
    shutil.copy(EXERCISES / f"test_{part}.py", folder)
    shutil.copy(EXERCISES / "conftest.py", folder)  # the shared solution fixture
    (folder / f"{part}.py").write_text(source)
    return run_pytest(folder / f"test_{part}.py", folder)


def mistakes_of(part):
    """The MISTAKES list of mistakes/<part>.py ([] when there is no such file)."""
    path = MISTAKES / f"{part}.py"
    if not path.exists():
        return []
    spec = importlib.util.spec_from_file_location(f"mistakes_{part}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.MISTAKES


def planted(part, mistake):
    """The reference solution of ``part`` with ``mistake``'s edits made."""
    source = (SOLUTIONS / f"{part}.py").read_text()
    for old, new in mistake["edits"]:
        assert source.count(old) == 1, (
            f"mistake {part}/{mistake['name']}: the lines to replace must occur exactly once in "
            f"solutions/{part}.py, found {source.count(old)} times:\n{old}")
        source = source.replace(old, new)
    return source


def test_the_course_names_every_stub_once_and_each_part_has_its_files():
    stubs = sorted(p.stem for p in EXERCISES.glob("*.py")
                   if not p.name.startswith("test_") and p.name not in NOT_STUBS)
    assert sorted(PARTS) == stubs
    assert len(PARTS) == len(set(PARTS))
    assert [item.number for item in COURSE] == list(range(1, 13))
    for item in COURSE:
        assert (ROOT / item.docs_page).exists(), f"exercise {item.number}: no {item.docs_page}"
        for part in item.parts:
            assert (EXERCISES / f"test_{part}.py").exists(), f"{part}: no grader"
            assert (SOLUTIONS / f"{part}.py").exists(), f"{part}: no reference solution"
            assert len(mistakes_of(part)) >= 2, f"{part}: plant at least two mistakes"


@pytest.mark.parametrize("part", PARTS)
def test_the_grader_passes_the_reference_solution(part, tmp_path):
    result = grade_candidate(part, (SOLUTIONS / f"{part}.py").read_text(), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("part", PARTS)
def test_the_grader_finds_the_stub_not_started(part):
    result = run_pytest(EXERCISES / f"test_{part}.py", ROOT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NotImplementedError" in result.stdout and " passed" not in result.stdout


PLANTED = [(part, mistake) for part in PARTS for mistake in mistakes_of(part)]


@pytest.mark.parametrize("part, mistake", PLANTED,
                         ids=[f"{part}-{mistake['name']}" for part, mistake in PLANTED])
def test_a_planted_mistake_fails_with_the_intended_message(part, mistake, tmp_path):
    result = grade_candidate(part, planted(part, mistake), tmp_path)
    assert result.returncode == 1, (
        f"{part}/{mistake['name']} ({mistake['why']}) passed its grader:\n{result.stdout}")
    assert re.search(mistake["expect"], result.stdout), (
        f"{part}/{mistake['name']}: the grader failed, but not with /{mistake['expect']}/:\n"
        f"{result.stdout[-3000:]}")
