"""``keras.callbacks``: minigrad's callbacks (:mod:`minigrad.train.callbacks`)."""

from ..train.callbacks import (Callback, CSVLogger, EarlyStopping, LearningRateScheduler,
                               ModelCheckpoint, ReduceLROnPlateau, TerminateOnNaN)
from ..train.history import History

__all__ = ["Callback", "CSVLogger", "EarlyStopping", "History", "LearningRateScheduler",
           "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]
