"""The ``minigrad`` command: ``minigrad serve PATH [options]`` (see ``minigrad serve -h``)."""

import argparse


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minigrad", description="minigrad's command line")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    try:
        from .serve.cli import DESCRIPTION, add_arguments
    except ImportError as exc:  # the serving extra is not installed
        raise SystemExit(f"minigrad: {exc}") from None

    add_arguments(commands.add_parser("serve", help="serve saved models over HTTP",
                                      description=DESCRIPTION))
    args = parser.parse_args(argv)
    if args.command == "serve":
        from .serve.cli import run

        run(args)


if __name__ == "__main__":
    main()
