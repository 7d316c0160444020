"""The progress display of ``fit``/``evaluate``/``predict`` (tqdm: a bar in a terminal, a
widget in a notebook), with Keras's ``verbose`` levels: 0 silent, 1 a bar per epoch, 2 one
line per epoch."""

from tqdm.auto import tqdm


def _format(logs):
    return "  ".join(f"{name}: {value:.4f}" for name, value in logs.items()
                     if isinstance(value, float))


class Progress:
    """One epoch's display; ``update`` after each batch, ``close`` with the final logs."""

    def __init__(self, verbose, total, description):
        self.verbose = verbose
        self.description = description
        self.bar = None
        if verbose == 1:
            self.bar = tqdm(total=total, desc=description, unit="batch", leave=True,
                            dynamic_ncols=True)

    def update(self, logs):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs), refresh=False)
            self.bar.update(1)

    def close(self, logs, seconds):
        if self.bar is not None:
            self.bar.set_postfix_str(_format(logs))
            self.bar.close()
        elif self.verbose == 2:
            print(f"{self.description} - {seconds:.1f}s - {_format(logs)}", flush=True)


def resolve_verbose(verbose):
    """Keras's "auto" is 1 (a progress bar)."""
    if verbose == "auto":
        return 1
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")
    return verbose
