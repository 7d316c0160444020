"""The course (exercises/): every exercise has a stub, a grader, a reference solution, planted
mistakes and a docs page; each grader passes its reference, finds the stub not started, and
fails each planted mistake with the message it is meant to give.

The reference solutions live here (solutions/<part>.py), not in exercises/, so that a teacher can
hand out exercises/ as it is. A planted mistake is mistakes/<part>__<what>.py: a solution with
one typical error and, on a line ``# expect: <regex>``, what the grader must say about it. Each
check copies a grader next to a candidate in a temporary folder and runs pytest there, exactly
as a student would.
"""

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


def grade_candidate(part, candidate, folder):
    """Run exercises/test_<part>.py against ``candidate`` (a file) as exercises/<part>.py."""
    shutil.copy(EXERCISES / f"test_{part}.py", folder)
    shutil.copy(EXERCISES / "conftest.py", folder)  # the shared solution fixture
    shutil.copy(candidate, folder / f"{part}.py")
    return run_pytest(folder / f"test_{part}.py", folder)


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
            assert list(MISTAKES.glob(f"{part}__*.py")), f"{part}: no planted mistake"


@pytest.mark.parametrize("part", PARTS)
def test_the_grader_passes_the_reference_solution(part, tmp_path):
    result = grade_candidate(part, SOLUTIONS / f"{part}.py", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("part", PARTS)
def test_the_grader_finds_the_stub_not_started(part):
    result = run_pytest(EXERCISES / f"test_{part}.py", ROOT)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NotImplementedError" in result.stdout and " passed" not in result.stdout


def planted_mistakes():
    return sorted(MISTAKES.glob("*__*.py"))


@pytest.mark.parametrize("mistake", planted_mistakes(), ids=lambda p: p.stem)
def test_a_planted_mistake_fails_with_the_intended_message(mistake, tmp_path):
    part = mistake.stem.split("__")[0]
    assert part in PARTS, f"{mistake.name}: no part {part!r} in the course"
    expected = re.search(r"^# expect: (.+)$", mistake.read_text(), re.M)
    assert expected, f"{mistake.name} needs a line '# expect: <regex of the message>'"
    result = grade_candidate(part, mistake, tmp_path)
    assert result.returncode == 1, f"{mistake.name} passed its grader:\n{result.stdout}"
    assert re.search(expected.group(1), result.stdout), (
        f"{mistake.name}: the grader failed, but not with /{expected.group(1)}/:\n"
        f"{result.stdout[-3000:]}")
