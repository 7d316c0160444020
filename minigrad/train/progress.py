"""The progress display of ``fit``/``evaluate``/``predict``, with Keras's ``verbose`` levels:
0 silent, 1 a bar per epoch, 2 one line per epoch.

A bar (tqdm: text in a terminal, a widget in a notebook with ipywidgets) is drawn only where
someone watches it live; output redirected to a file gets one plain line per epoch instead of
carriage-return-joined bar states. When the epoch ends, its metrics go on a line of their own
below the bar, so that ``val_loss`` and ``val_accuracy`` are never cut off at 80 columns."""

import sys

from .. import console


def _items(logs):
    return [f"{name}: {value:.4f}" for name, value in logs.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)]


def format_logs(logs):
    """``{"loss": 0.31, "accuracy": 0.9}`` -> ``"loss: 0.3100  accuracy: 0.9000"`` (numbers
    only)."""
    return "  ".join(_items(logs))


def wrap_logs(logs, width, indent="  "):
    """The logs as lines of at most ``width`` columns, never splitting one ``name: value``."""
    lines, line = [], ""
    for item in _items(logs):
        candidate = f"{line}  {item}" if line else indent + item
        if line and len(candidate) > width:
            lines.append(line)
            candidate = indent + item
        line = candidate
    return lines + ([line] if line else [])


class Progress:
    """One epoch's display; ``update`` after each batch, ``close`` with the final logs."""

    def __init__(self, verbose, total, description, stream=None):
        self.stream = sys.stdout if stream is None else stream
        self.description = description
        self.bar = None
        # verbose=1 in a file: a line per epoch, as Keras writes where nothing redraws a bar.
        self.line_per_epoch = verbose == 2 or (verbose == 1 and
                                               not console.is_interactive(self.stream))
        if verbose == 1 and not self.line_per_epoch:
            self.bar = console.bar_class()(total=total, desc=description, unit="batch",
                                           leave=True, file=self.stream,
                                           ncols=console.width())

    def update(self, logs):
        if self.bar is not None:
            self.bar.set_postfix_str(format_logs(logs), refresh=False)
            self.bar.update(1)

    def close(self, logs, seconds):
        if self.bar is not None:
            self.bar.set_postfix_str("", refresh=False)
            self.bar.close()
            lines = wrap_logs(logs, console.width())
            if lines:
                print("\n".join(lines), file=self.stream, flush=True)
        elif self.line_per_epoch:
            print(f"{self.description} - {seconds:.1f}s - {format_logs(logs)}",
                  file=self.stream, flush=True)


def resolve_verbose(verbose):
    """Keras's "auto" is 1: a bar where one can be watched, a line per epoch in a file."""
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return verbose
