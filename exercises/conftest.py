"""What every grader shares: the ``solution`` fixture, the student's module beside the grader
(``test_swish.py`` grades ``swish.py``), loaded by path."""

import importlib.util
from pathlib import Path

import pytest


@pytest.fixture
def solution(request):
    grader = Path(request.module.__file__)
    path = grader.with_name(grader.name.removeprefix("test_"))
    spec = importlib.util.spec_from_file_location(path.stem + "_solution", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
