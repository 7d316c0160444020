"""``History``: what ``fit`` returns — the loss and metrics of every epoch."""

from ..extras import install_hint


class History:
    """Per-epoch logs of a ``fit`` call.

    Attributes:
        history: a dict from names ("loss", "accuracy", "val_loss", ...) to lists with one value
            per epoch, as in Keras.
        epoch: the epoch numbers (0-based) that ran.
        params: the settings of the fit, as Keras's: ``{"verbose": ..., "epochs": ...,
            "steps": batches per epoch (None while unknown, e.g. for a generator)}``.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.params = {}

    def append(self, epoch, logs):
        """Record the logs of one finished epoch."""
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)

    def plot(self, metrics=None, ax=None):
        """Draw the curves of ``metrics`` (default: all) against the epoch, each with its
        validation curve, with matplotlib (``pip install -e ".[plot]"`` in minigrad's clone);
        returns the axes.

        A figure is made when ``ax`` is None; in a notebook it shows inline.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError(f"History.plot() needs matplotlib: {install_hint('plot')}") \
                from None
        names = metrics or [n for n in self.history if not n.startswith("val_")]
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        epochs = [e + 1 for e in self.epoch]
        for name in names:
            if name not in self.history:
                raise KeyError(f"no metric {name!r} in this history; it has "
                               f"{', '.join(self.history)}")
            ax.plot(epochs, self.history[name], marker="o", label=name)
            if f"val_{name}" in self.history:
                ax.plot(epochs, self.history[f"val_{name}"], marker="o", linestyle="--",
                        label=f"val_{name}")
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(True, alpha=0.3)
        return ax

    def __repr__(self):
        last = {name: values[-1] for name, values in self.history.items()}
        return f"<History: {len(self.epoch)} epochs, last {last}>"
