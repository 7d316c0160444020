"""``minigrad serve PATH``: serve saved models over HTTP on waitress."""

import argparse
import logging
import sys
from pathlib import Path

from .app import DEFAULT_MAX_BODY_BYTES
from .repository import CONTROL_MODES, DEFAULT_POLL_SECS
from .server import DEFAULT_CONNECTION_LIMIT, DEFAULT_IDLE_TIMEOUT, DEFAULT_READ_TIMEOUT

DESCRIPTION = """Serve saved minigrad models over the Open Inference Protocol (KServe v2 REST,
as Triton speaks it). PATH is a model file written by model.save, a model folder
(NAME/model.safetensors or NAME/<version>/model.safetensors) or a repository of model folders.
With --repository DIR instead of PATH, the repository is live: versions are loaded, swapped and
unloaded while the server runs (--model-control-mode poll or explicit, as in Triton)."""


def add_arguments(parser):
    """The ``serve`` options (shared by ``minigrad serve`` and ``python -m minigrad.serve``)."""
    parser.add_argument("path", metavar="PATH", type=Path, nargs="?",
                        help="model file, model folder or model repository, served as it is "
                        "at start (or give --repository)")
    parser.add_argument("--repository", "--model-repository", type=Path, metavar="DIR",
                        help="a live model repository (DIR/<model>/<version>/model.safetensors)"
                        ": see --model-control-mode")
    parser.add_argument("--model-control-mode", choices=CONTROL_MODES, default="none",
                        help="with --repository: none = load every model at start, no "
                        "changes; poll = also load new versions and unload removed ones every "
                        "--repository-poll-secs; explicit = load and unload only on request "
                        "(POST /v2/repository/models/NAME/load|unload) and --load-model "
                        "(default none)")
    parser.add_argument("--repository-poll-secs", type=float, default=DEFAULT_POLL_SECS,
                        help="seconds between scans of the repository in poll mode (default "
                        f"{DEFAULT_POLL_SECS:g})")
    parser.add_argument("--load-model", action="append", default=[], metavar="NAME",
                        help="in explicit mode, a model to load at start (repeatable; '*' for "
                        "all)")
    parser.add_argument("--name", help="serve a single model under this name (default: its "
                        "file or folder name without the extension)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to bind (default 127.0.0.1: this machine only; "
                        "0.0.0.0 to accept others, with --token-file)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    parser.add_argument("--threads", type=int, default=64,
                        help="requests handled at once (default 64)")
    parser.add_argument("--token-file", type=Path,
                        help="file holding a bearer token that every request but the health "
                        "probes must send (Authorization: Bearer <token>)")
    parser.add_argument("--max-batch-size", type=int, default=64,
                        help="rows per merged forward pass (dynamic batching; 0 turns it off; "
                        "default 64)")
    parser.add_argument("--batch-timeout-ms", type=float, default=0.0,
                        help="how long a request may wait for others to join its batch "
                        "(default 0: merge only requests already waiting)")
    parser.add_argument("--max-body-bytes", type=int, default=DEFAULT_MAX_BODY_BYTES,
                        help=f"largest request body accepted (default {DEFAULT_MAX_BODY_BYTES})")
    parser.add_argument("--grace", type=float, default=30.0,
                        help="seconds the requests already received may take to finish after "
                        "SIGTERM; the exit status is 1 if some had to be cut (default 30)")
    parser.add_argument("--connection-limit", type=int, default=DEFAULT_CONNECTION_LIMIT,
                        help="connections open at once; at the limit a new client takes the "
                        "place of the longest-idle one (default "
                        f"{DEFAULT_CONNECTION_LIMIT})")
    parser.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT,
                        help="seconds before an idle keep-alive connection is closed (default "
                        f"{DEFAULT_IDLE_TIMEOUT:g})")
    parser.add_argument("--read-timeout", type=float, default=DEFAULT_READ_TIMEOUT,
                        help="seconds a request may take to arrive once its first byte has; "
                        f"slower senders are cut off (default {DEFAULT_READ_TIMEOUT:g})")
    parser.add_argument("--quiet", action="store_true",
                        help="no access log and no queue-depth warnings on stderr")
    return parser


def read_token(path):
    """The token in ``path`` (surrounding whitespace removed), or an error naming the file."""
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise SystemExit(f"--token-file {path}: cannot read it ({exc.strerror})") from None
    if not token:
        raise SystemExit(f"--token-file {path}: the file is empty")
    return token


def run(args):
    """Load the models named by parsed ``args`` and serve them until SIGTERM."""
    from . import create_app, serve
    from ..io import ModelFileError
    from .errors import ServeError

    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.quiet:
        logging.getLogger("minigrad.serve.access").setLevel(logging.WARNING)
        # waitress warns once per request queued behind busy threads: a flood under load.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    token = read_token(args.token_file) if args.token_file else None
    for option in ("max_batch_size", "threads", "max_body_bytes", "connection_limit"):
        if getattr(args, option) < (0 if option == "max_batch_size" else 1):
            raise SystemExit(f"--{option.replace('_', '-')} must be positive")
    for option in ("idle_timeout", "read_timeout"):
        if not getattr(args, option) > 0:  # also refuses nan
            raise SystemExit(f"--{option.replace('_', '-')} must be positive")
    if not args.grace >= 0:
        raise SystemExit("--grace must be 0 or more")
    source = _source(args)
    try:
        app = create_app(token=token, max_batch_size=args.max_batch_size,
                         batch_timeout_ms=args.batch_timeout_ms,
                         max_body_bytes=args.max_body_bytes, **source)
    except (OSError, ValueError, ModelFileError, ImportError) as exc:  # ImportError: an
        raise SystemExit(f"minigrad serve: {exc}") from None  # ONNX file, no onnxruntime
    except ServeError as exc:  # --load-model of a model the repository does not have
        raise SystemExit(f"minigrad serve: --load-model: {exc.message}") from None
    for model in app.models:
        logging.getLogger("minigrad.serve").info(
            "model %r version %s: input %s %s -> output %s %s", model.name, model.version,
            model.input.datatype, model.input.shape, model.output.datatype, model.output.shape)
    cut = serve(app, host=args.host, port=args.port, threads=args.threads, grace=args.grace,
                connection_limit=args.connection_limit, idle_timeout=args.idle_timeout,
                read_timeout=args.read_timeout)
    if cut:
        raise SystemExit(f"minigrad serve: {cut} request(s) cut at the end of the {args.grace:g} "
                         "s grace period (--grace)")


def _source(args):
    """create_app's arguments for what to serve: PATH, or --repository and its options."""
    if (args.path is None) == (args.repository is None):
        raise SystemExit("minigrad serve: give PATH (models served as they are) or "
                         "--repository DIR (a live repository), not both or neither")
    if args.repository is None:
        given = [option for option, value in [
            ("--model-control-mode", args.model_control_mode != "none"),
            ("--repository-poll-secs", args.repository_poll_secs != DEFAULT_POLL_SECS),
            ("--load-model", args.load_model)] if value]
        if given:
            raise SystemExit(f"minigrad serve: {', '.join(given)} need --repository DIR")
        return {"models": args.path, "name": args.name}
    if args.name is not None:
        raise SystemExit("minigrad serve: --name renames a single model; a repository's models "
                         "are named after their folders")
    if not args.repository_poll_secs > 0:
        raise SystemExit("--repository-poll-secs must be positive")
    if args.load_model and args.model_control_mode != "explicit":
        raise SystemExit("minigrad serve: --load-model is for --model-control-mode explicit "
                         "(the other modes load every model)")
    return {"repository": args.repository, "model_control_mode": args.model_control_mode,
            "repository_poll_secs": args.repository_poll_secs, "load": args.load_model}


def main(argv=None):
    parser = add_arguments(argparse.ArgumentParser(prog="minigrad serve",
                                                   description=DESCRIPTION))
    run(parser.parse_args(argv))
