"""Weight penalties added to the training loss: ``kernel_regularizer="l2"`` or ``L2(1e-4)``."""

from .. import functional as F


class L1L2:
    """``l1 * sum(|w|) + l2 * sum(w^2)``."""

    def __init__(self, l1=0.0, l2=0.0):
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, weight):
        penalty = 0.0
        if self.l1:
            penalty = penalty + self.l1 * F.abs(weight).sum()
        if self.l2:
            penalty = penalty + self.l2 * (weight * weight).sum()
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(l1={self.l1:g}, l2={self.l2:g})"


class L1(L1L2):
    """``l1 * sum(|w|)`` (Keras's default factor 0.01)."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)


class L2(L1L2):
    """``l2 * sum(w^2)`` (Keras's default factor 0.01)."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)


def get(regularizer):
    """A regularizer from None, a name ("l1", "l2", "l1_l2"), a ``{"l1": ..., "l2": ...}`` dict
    (what ``get_config`` writes) or a callable."""
    if regularizer is None or callable(regularizer):
        return regularizer
    if isinstance(regularizer, dict):
        unknown = set(regularizer) - {"l1", "l2"}
        if unknown:
            raise ValueError(f"a regularizer dict has keys 'l1' and 'l2', got {sorted(unknown)}")
        return L1L2(**regularizer)
    names = {"l1": L1, "l2": L2, "l1_l2": lambda: L1L2(0.01, 0.01)}
    try:
        return names[str(regularizer).lower()]()
    except KeyError:
        raise ValueError(f"unknown regularizer {regularizer!r}; use 'l1', 'l2', 'l1_l2' or "
                         "mg.nn.regularizers.L1L2(l1, l2)") from None


def config_of(regularizer):
    """``regularizer`` as a saved config holds it (read back by :func:`get`): None, a name or a
    dict as it is; an :class:`L1L2` (or anything with ``l1`` and ``l2``) as ``{"l1": ...,
    "l2": ...}``; None for another callable, which a config cannot hold."""
    if regularizer is None or isinstance(regularizer, (str, dict)):
        return regularizer
    return {"l1": regularizer.l1, "l2": regularizer.l2} if hasattr(regularizer, "l1") else None
