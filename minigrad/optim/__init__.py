"""Optimizers, gradient clipping and learning-rate schedules.

``SGD``, ``Adagrad``, ``RMSprop``, ``Adam`` and ``AdamW`` take PyTorch's arguments and follow
PyTorch's update formulas (so their trajectories match ``torch.optim``), and also Keras's
spellings (``learning_rate=``, ``clipnorm=``, ``clipvalue=``, ``global_clipnorm=``).
``get("adam")`` makes one from its name, with Keras's default learning rate.

>>> model = mg.nn.Dense(1)
>>> _ = model(mg.ones(4, 3))                  # build the lazy layer
>>> opt = mg.optim.Adam(model.parameters(), lr=0.01)
>>> loss = (model(mg.ones(4, 3)) ** 2).mean()
>>> opt.zero_grad()
>>> loss.backward()
>>> opt.step()
"""

from .adagrad import Adagrad
from .adam import Adam, AdamW
from .clip import clip_grad_norm_, clip_grad_value_
from .optimizer import Optimizer
from .registry import get
from .rmsprop import RMSprop
from .schedules import (CosineAnnealingLR, CosineDecay, ExponentialDecay, ExponentialLR,
                        LinearWarmup, LRSchedule, ReduceLROnPlateau, StepDecay, StepLR)
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adagrad", "RMSprop", "Adam", "AdamW", "get", "clip_grad_norm_",
           "clip_grad_value_", "LRSchedule", "StepLR", "StepDecay", "ExponentialLR",
           "ExponentialDecay", "CosineAnnealingLR", "CosineDecay", "LinearWarmup",
           "ReduceLROnPlateau"]
