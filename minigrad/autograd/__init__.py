"""The autograd engine: ``Tensor``, ``Function`` (one op's forward and backward), the backward
pass and grad mode."""

from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor
from .function import Function
from .broadcast import sum_to
from .engine import run_backward

__all__ = ["Tensor", "Function", "sum_to", "run_backward", "no_grad", "enable_grad",
           "set_grad_enabled", "is_grad_enabled"]
