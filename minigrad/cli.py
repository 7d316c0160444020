"""The ``minigrad`` command: ``minigrad serve PATH [options]`` (see ``minigrad serve -h``) and
``minigrad export MODEL.safetensors MODEL.onnx`` (see ``minigrad export -h``)."""

import argparse

from .extras import install_hint


def main(argv=None):
    parser = argparse.ArgumentParser(prog="minigrad", description="minigrad's command line")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    try:
        from .serve.cli import DESCRIPTION, add_arguments
    except ImportError as exc:  # the serving extra is not installed
        serve_missing = f"minigrad serve: {exc}"
        commands.add_parser("serve", help="serve saved models over HTTP (the serving extra)",
                            add_help=False).add_argument("rest", nargs=argparse.REMAINDER)
    else:
        serve_missing = None
        add_arguments(commands.add_parser("serve", help="serve saved models over HTTP",
                                          description=DESCRIPTION))
    from .export.onnx.cli import DESCRIPTION as EXPORT_DESCRIPTION
    from .export.onnx.cli import add_arguments as add_export_arguments

    add_export_arguments(commands.add_parser("export", help="export a saved model to ONNX",
                                             description=EXPORT_DESCRIPTION))
    args = parser.parse_args(argv)
    if args.command == "serve":
        if serve_missing:
            raise SystemExit(serve_missing)
        from .serve.cli import run

        run(args)
    elif args.command == "export":
        try:
            from .export.onnx.cli import run as export
        except ImportError as exc:  # the onnx extra is not installed
            raise SystemExit(f"minigrad export: {exc}; {install_hint('onnx')}") from None
        export(args)


if __name__ == "__main__":
    main()
