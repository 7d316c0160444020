"""batch_norm: gradients against finite differences in training and evaluation, forward,
backward and running statistics against PyTorch (with its momentum and unbiased running
variance converted), dtypes and errors."""

import numpy as np
import pytest

import minigrad as mg

from ._specs import NO_TORCH
from .test_conv import assert_close

torch = pytest.importorskip("torch", reason=NO_TORCH)

SHAPES = {"features": ((6, 4), -1), "images": ((3, 4, 5, 4), -1), "sequence axis 1": ((3, 4, 5), 1)}


def _arrays(shape, axis, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    features = shape[axis]
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    gamma = rng.uniform(0.5, 2.0, features).astype(dtype)
    beta = rng.standard_normal(features).astype(dtype)
    mean = rng.standard_normal(features).astype(dtype)
    var = rng.uniform(0.5, 2.0, features).astype(dtype)
    return x, gamma, beta, mean, var


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_batch_norm_gradients_match_finite_differences(case, training, device):
    shape, axis = SHAPES[case]
    x, gamma, beta, mean, var = (mg.tensor(a, device=device) for a in _arrays(shape, axis))
    for t in (x, gamma, beta):
        t.requires_grad = True
    assert mg.testing.gradcheck(
        lambda x, g, b: mg.batch_norm(x, g, b, mean.detach(), var.detach(), training,
                                      epsilon=1e-3, axis=axis), x, gamma, beta)


def _to_torch_layout(a, axis):
    """minigrad's features-along-``axis`` layout to PyTorch's features-along-1."""
    return np.ascontiguousarray(np.moveaxis(a, axis, 1))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", SHAPES, ids=list(SHAPES))
def test_batch_norm_matches_torch_with_its_momentum_and_variance_converted(case, training,
                                                                           dtype, device):
    shape, axis = SHAPES[case]
    x, gamma, beta, mean, var = _arrays(shape, axis, dtype)
    momentum, epsilon = 0.9, 1e-3
    ours = [mg.tensor(a, device=device, requires_grad=True) for a in (x, gamma, beta)]
    running = [mg.tensor(a, device=device) for a in (mean, var)]
    out = mg.batch_norm(*ours, *running, training, momentum=momentum, epsilon=epsilon, axis=axis)
    grad = np.random.default_rng(1).standard_normal(shape).astype(dtype)
    out.backward(mg.tensor(grad, device=device))

    theirs = [torch.tensor(_to_torch_layout(x, axis), requires_grad=True),
              torch.tensor(gamma, requires_grad=True), torch.tensor(beta, requires_grad=True)]
    torch_mean, torch_var = torch.tensor(mean), torch.tensor(var)
    expected = torch.nn.functional.batch_norm(theirs[0], torch_mean, torch_var, theirs[1],
                                              theirs[2], training, momentum=1 - momentum,
                                              eps=epsilon)
    expected.backward(torch.tensor(_to_torch_layout(grad, axis)))

    assert out.dtype == dtype
    assert_close(out.numpy(), np.moveaxis(expected.detach().numpy(), 1, axis), dtype, "output")
    assert_close(ours[0].grad.numpy(), np.moveaxis(theirs[0].grad.numpy(), 1, axis), dtype,
                 "d x")
    assert_close(ours[1].grad.numpy(), theirs[1].grad.numpy(), dtype, "d gamma")
    assert_close(ours[2].grad.numpy(), theirs[2].grad.numpy(), dtype, "d beta")
    assert_close(running[0].numpy(), torch_mean.numpy(), dtype, "running mean")
    # PyTorch moves its running variance towards the unbiased batch variance (m / (m - 1)
    # times the biased one minigrad uses, as Keras does).
    m = x.size // x.shape[axis]
    step = torch_var.numpy() - momentum * var
    expected_var = momentum * var + (step * (m - 1) / m if training else step)
    assert_close(running[1].numpy(), expected_var, dtype, "running var")


def test_batch_norm_updates_the_running_statistics_in_place_only_in_training(device):
    x = mg.tensor([[1.0, 10.0], [3.0, 30.0]], device=device)
    mean, var = mg.zeros(2, device=device), mg.ones(2, device=device)
    arrays = mean.data, var.data
    mg.batch_norm(x, None, None, mean, var, training=True)  # momentum 0.99, Keras's default
    assert mean.data is arrays[0] and var.data is arrays[1]
    np.testing.assert_allclose(mean.numpy(), [0.01 * 2, 0.01 * 20], rtol=1e-6)
    np.testing.assert_allclose(var.numpy(), [0.99 + 0.01 * 1, 0.99 + 0.01 * 100], rtol=1e-6)
    before = mean.numpy().copy(), var.numpy().copy()
    mg.batch_norm(x, None, None, mean, var, training=False)
    np.testing.assert_array_equal(mean.numpy(), before[0])
    np.testing.assert_array_equal(var.numpy(), before[1])


def test_batch_norm_in_training_normalizes_each_channel_of_an_image_batch(device):
    x = mg.randn(8, 5, 5, 3, device=device) * mg.tensor([1.0, 10.0, 100.0], device=device) + 7
    out = mg.batch_norm(x, None, None, None, None, training=True, epsilon=0.0).numpy()
    np.testing.assert_allclose(out.mean(axis=(0, 1, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=(0, 1, 2)), 1, rtol=1e-4)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_batch_norm_keeps_the_dtype_in_outputs_and_gradients(dtype, training, device):
    x = mg.randn(4, 3, 3, 2, dtype=dtype, device=device, requires_grad=True)
    gamma = mg.ones(2, dtype=dtype, device=device, requires_grad=True)
    beta = mg.zeros(2, dtype=dtype, device=device, requires_grad=True)
    mean, var = mg.zeros(2, device=device), mg.ones(2, device=device)  # float32 statistics
    out = mg.batch_norm(x, gamma, beta, mean, var, training)
    assert out.dtype == dtype
    (out * out).sum().backward()
    assert (x.grad.dtype, gamma.grad.dtype, beta.grad.dtype) == (x.dtype,) * 3
    assert mean.dtype == "float32" and var.dtype == "float32"


def test_batch_norm_errors_name_the_shapes():
    x = mg.zeros(4, 3)
    with pytest.raises(ValueError, match=r"gamma of shape \(3,\) .*got \(4,\)"):
        mg.batch_norm(x, mg.ones(4), None, None, None, training=True)
    with pytest.raises(ValueError, match="at least one value per feature"):
        mg.batch_norm(mg.zeros(0, 3), None, None, None, None, training=True)
    with pytest.raises(ValueError, match="training=False needs running_mean and running_var"):
        mg.batch_norm(x, None, None, None, None, training=False)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, ..., C\)"):
        mg.batch_norm(mg.zeros(3), None, None, None, None, training=True)
