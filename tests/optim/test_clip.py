"""Gradient clipping functions (the comparisons with PyTorch's are in test_against_torch.py)."""

import math

import numpy as np
import pytest

import minigrad as mg


def with_grads(*grads, device="cpu"):
    params = []
    for grad in grads:
        p = mg.nn.Parameter(mg.zeros(len(grad), dtype="float64", device=device))
        p.grad = mg.tensor(grad, dtype="float64", device=device)
        params.append(p)
    return params


def test_clip_grad_norm_scales_all_gradients_together(device):
    params = with_grads([3.0, 0.0], [0.0, 4.0], device=device)
    norm = mg.optim.clip_grad_norm_(params, max_norm=1.0)
    assert norm == 5.0
    scale = 1.0 / (5.0 + 1e-6)
    np.testing.assert_allclose(params[0].grad.numpy(), [3 * scale, 0])
    np.testing.assert_allclose(params[1].grad.numpy(), [0, 4 * scale])


def test_clip_grad_norm_leaves_small_gradients_alone_and_skips_missing_ones():
    params = with_grads([0.3, 0.4])
    params.append(mg.nn.Parameter(mg.zeros(2)))
    assert mg.optim.clip_grad_norm_(params, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(params[0].grad.numpy(), [0.3, 0.4])
    assert params[1].grad is None


def test_clip_grad_norm_inf_norm_and_a_single_parameter():
    (p,) = with_grads([-3.0, 1.0])
    assert mg.optim.clip_grad_norm_(p, 1.5, norm_type=math.inf) == 3.0
    np.testing.assert_allclose(p.grad.numpy(), [-1.5, 0.5], rtol=1e-6)


def test_clip_grad_norm_keeps_float32():
    p = mg.nn.Parameter(mg.zeros(3))
    p.grad = mg.tensor([10.0, 0.0, 0.0])
    mg.optim.clip_grad_norm_([p], 1.0)
    assert p.grad.dtype == mg.float32


def test_clip_grad_norm_errors():
    params = with_grads([math.nan, 1.0])
    with pytest.raises(RuntimeError, match="the total norm of the gradients is nan"):
        mg.optim.clip_grad_norm_(params, 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="clip_grad_norm_ expected max_norm > 0, got -1.0"):
        mg.optim.clip_grad_norm_(params, -1)
    with pytest.raises(TypeError, match="clip_grad_norm_ expected Parameters, got list at "
                                        "position 0"):
        mg.optim.clip_grad_norm_([[1.0]], 1.0)


def test_clip_grad_value_clips_in_place(device):
    params = with_grads([-2.0, 0.5, 3.0], device=device)
    grad = params[0].grad.data
    assert mg.optim.clip_grad_value_(params, 1.0) is None
    assert params[0].grad.data is grad
    np.testing.assert_array_equal(params[0].grad.numpy(), [-1.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="clip_grad_value_ expected clip_value > 0, got 0.0"):
        mg.optim.clip_grad_value_(params, 0)


def test_global_clipnorm_option_equals_clipping_by_hand():
    params = with_grads([3.0, 0.0], [0.0, 4.0])
    by_hand = with_grads([3.0, 0.0], [0.0, 4.0])
    mg.optim.SGD(params, lr=1.0, global_clipnorm=1.0).step()
    mg.optim.clip_grad_norm_(by_hand, 1.0)
    mg.optim.SGD(by_hand, lr=1.0).step()
    for p, q in zip(params, by_hand):
        np.testing.assert_array_equal(p.numpy(), q.numpy())
