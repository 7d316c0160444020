"""``python -m exercises`` prints the scoreboard; ``python -m exercises check N`` grades one."""

import argparse
import sys

from .course import COURSE
from .grading import GradingError, check, require_pytest, scoreboard


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m exercises",
                                     description="Grade minigrad's course exercises.")
    commands = parser.add_subparsers(dest="command")
    one = commands.add_parser("check", help="grade one exercise and show every message")
    one.add_argument("number", type=int, choices=range(1, len(COURSE) + 1), metavar="N",
                     help=f"the exercise, 1 to {len(COURSE)}")
    args = parser.parse_args(argv)
    try:
        require_pytest()
    except GradingError as error:
        print(f"python -m exercises: {error}", file=sys.stderr)
        return 2
    if args.command == "check":
        return 0 if check(args.number).status == "passed" else 1
    reports = scoreboard()
    return 0 if all(r.status == "passed" for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
