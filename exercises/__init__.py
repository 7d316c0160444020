"""minigrad's course: twelve exercises that build the core of minigrad again, each graded.

From the repository root::

    python -m exercises            # the scoreboard: passed / failing / not started
    python -m exercises check 7    # one exercise, every test with its message

or in a notebook started there: ``import exercises; exercises.check(7)``.
"""

from .course import COURSE, exercise
from .grading import check, grade, scoreboard

__all__ = ["COURSE", "exercise", "check", "grade", "scoreboard"]
