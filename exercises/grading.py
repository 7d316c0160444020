"""Grading: run an exercise's graders with pytest and say where the student stands.

Used by ``python -m exercises`` (the scoreboard, ``check N``) and from a notebook::

    import exercises
    exercises.scoreboard()
    exercises.check(7)
"""

import importlib.util
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

from .course import COURSE, exercise

FOLDER = Path(__file__).resolve().parent
NOT_STARTED_MARK = "NotImplementedError"


@dataclass
class Result:
    """The outcome of one grading test: ``outcome`` is "passed", "failed" or "skipped"."""

    part: str
    name: str
    outcome: str
    message: str = ""


@dataclass
class Report:
    """An exercise's results and what they add up to."""

    number: int
    title: str
    results: list = field(default_factory=list)

    @property
    def passed(self):
        return sum(r.outcome == "passed" for r in self.results)

    @property
    def total(self):
        return sum(r.outcome != "skipped" for r in self.results)

    @property
    def status(self):
        """"passed", "not started" (every test stopped at a stub's NotImplementedError) or
        "failing"."""
        if self.total and self.passed == self.total:
            return "passed"
        failures = [r for r in self.results if r.outcome == "failed"]
        if not self.passed and failures and all(NOT_STARTED_MARK in r.message for r in failures):
            return "not started"
        return "failing"


class GradingError(RuntimeError):
    """Grading cannot run at all (pytest is missing, a grader file is gone)."""


def require_pytest():
    """Raise :class:`GradingError` saying how to install pytest when it is missing."""
    if importlib.util.find_spec("pytest") is None:
        raise GradingError('the graders need pytest: pip install -e ".[course]" in your '
                           "minigrad clone (it brings pytest, scikit-learn and tritonclient)")


def run_part(part, folder=FOLDER, timeout=600):
    """The results of ``folder/test_<part>.py``, run by pytest in a fresh process."""
    require_pytest()
    grader = Path(folder) / f"test_{part}.py"
    if not grader.exists():
        raise GradingError(f"no grader {grader}: restore it from the repository")
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.xml"
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "-p", "no:randomly", f"--junitxml={report}", "-o",
                        "junit_family=xunit1", str(grader)], cwd=Path(folder).parent,
                       capture_output=True, text=True, timeout=timeout)
        if not report.exists():
            return [Result(part, f"test_{part}.py", "failed", "pytest could not run the grader")]
        return _results(part, ElementTree.parse(report).getroot())


def _results(part, root):
    results = []
    for case in root.iter("testcase"):
        name = case.get("name", "?")
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            message = problem.get("message") or (problem.text or "").strip().splitlines()[-1:]
            if isinstance(message, list):
                message = message[0] if message else ""
            results.append(Result(part, name, "failed", message))
        elif case.find("skipped") is not None:
            results.append(Result(part, name, "skipped", case.find("skipped").get("message", "")))
        else:
            results.append(Result(part, name, "passed"))
    if not results:
        results.append(Result(part, f"test_{part}.py", "failed",
                              "the grader did not run (an error while importing it?)"))
    return results


def grade(number, folder=FOLDER):
    """The :class:`Report` of exercise ``number``."""
    item = exercise(number)
    report = Report(item.number, item.title)
    for part in item.parts:
        report.results.extend(run_part(part, folder))
    return report


def check(number, folder=FOLDER, out=None):
    """Grade exercise ``number`` and print every test's result with its message; returns the
    :class:`Report`."""
    out = out or sys.stdout
    report = grade(number, folder)
    print(f"Exercise {report.number}: {report.title} -- {report.status} "
          f"({report.passed}/{report.total} tests)", file=out)
    for result in report.results:
        mark = {"passed": "ok  ", "failed": "FAIL", "skipped": "skip"}[result.outcome]
        print(f"  {mark} {result.part}: {result.name}", file=out)
        if result.outcome == "failed":
            for line in result.message.strip().splitlines()[:6]:
                print(f"         {line}", file=out)
    if report.status == "not started":
        print("  Not started: open the stub named above and replace each "
              "NotImplementedError.", file=out)
    return report


def scoreboard(folder=FOLDER, out=None):
    """Grade all twelve exercises and print one line each; returns the reports."""
    out = out or sys.stdout
    reports = []
    print(f"{'#':>2}  {'exercise':<55} {'status':<12} tests", file=out)
    for item in COURSE:
        report = grade(item.number, folder)
        reports.append(report)
        print(f"{item.number:>2}  {item.title:<55} {report.status:<12} "
              f"{report.passed}/{report.total}", file=out)
    done = sum(r.status == "passed" for r in reports)
    print(f"\n{done} of {len(reports)} exercises passed. Details of one: "
          "python -m exercises check N", file=out)
    return reports
