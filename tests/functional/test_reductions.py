"""Reductions (sum, mean, var, max, min, logsumexp) over random shapes, axes (None, an int, a
tuple, negative) and keepdims: values against NumPy, gradients against the calculus written out
in NumPy; plus ties, ddof and the axis/dim spellings."""

import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

from ._specs import NO_TORCH, hypothesis_settings


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# name -> (minigrad call, NumPy value, NumPy gradient given (x, g with the reduced axes kept, axes))
REDUCTIONS = {
    "sum": (mg.sum, np.sum, lambda x, g, axes: np.broadcast_to(g, x.shape)),
    "mean": (mg.mean, np.mean,
             lambda x, g, axes: np.broadcast_to(g, x.shape) * g.size / x.size),
    "var": (mg.var, np.var,
            lambda x, g, axes: g * 2 * (x - x.mean(axis=axes, keepdims=True)) * g.size / x.size),
    "var_ddof1": (lambda x, axis, keepdims: mg.var(x, axis, keepdims, ddof=1),
                  lambda x, axis, keepdims: np.var(x, axis=axis, keepdims=keepdims, ddof=1),
                  lambda x, g, axes: g * 2 * (x - x.mean(axis=axes, keepdims=True))
                  / (x.size / g.size - 1)),
    "max": (mg.max, np.max, lambda x, g, axes: g * (x == x.max(axis=axes, keepdims=True))),
    "min": (mg.min, np.min, lambda x, g, axes: g * (x == x.min(axis=axes, keepdims=True))),
    "logsumexp": (mg.logsumexp,
                  lambda x, axis, keepdims: np.log(np.exp(x).sum(axis=axis, keepdims=keepdims)),
                  lambda x, g, axes: g * _softmax(x, axes)),
}


@st.composite
def shapes_and_axes(draw):
    """A shape, and an axis argument as a user would write it: None, an int or a tuple, each
    axis possibly negative."""
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    ndim = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return shape, None, tuple(range(ndim))
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    written = [a - ndim if draw(st.booleans()) else a for a in axes]
    if kind == "int":
        return shape, written[0], (axes[0],)
    return shape, tuple(written), tuple(sorted(axes))


@hypothesis_settings(max_examples=50)
@given(name=st.sampled_from(sorted(REDUCTIONS)), case=shapes_and_axes(), keepdims=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_reduction_value_and_gradient(name, case, keepdims, seed, device):
    fn, value, gradient = REDUCTIONS[name]
    shape, axis, axes = case
    count = int(np.prod([shape[a] for a in axes]))
    assume(name != "var_ddof1" or count > 1)
    rng = np.random.default_rng(seed)
    # distinct values: max/min have a single winner per reduction
    x_np = (rng.permutation(int(np.prod(shape))).reshape(shape) - 5) * 0.1
    x = mg.tensor(x_np, dtype="float64", device=device, requires_grad=True)

    out = fn(x, axis, keepdims)
    expected = value(x_np, axis=axis, keepdims=keepdims)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-14)

    g = rng.standard_normal(out.shape)
    out.backward(g)
    g_kept = g.reshape([1 if i in axes else s for i, s in enumerate(shape)])
    assert x.grad.shape == shape
    np.testing.assert_allclose(x.grad.numpy(), gradient(x_np, g_kept, axes), rtol=1e-10,
                               atol=1e-12)


@pytest.mark.parametrize("fn, reduce", [(mg.max, np.max), (mg.min, np.min)])
def test_tied_extremes_share_the_gradient_evenly(fn, reduce, device):
    values = np.array([[2.0, 5.0, 5.0, 5.0], [1.0, 1.0, 0.0, 3.0]])
    if reduce is np.min:
        values = -values
    x = mg.tensor(values, dtype="float64", device=device, requires_grad=True)
    fn(x, axis=1).backward(mg.tensor([3.0, 2.0], dtype="float64", device=device))
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1, 1, 1], [0, 0, 0, 2]])
    x.grad = None
    fn(x).backward()  # over everything: the three 5s tie
    np.testing.assert_allclose(x.grad.numpy(), [[0, 1 / 3, 1 / 3, 1 / 3], [0, 0, 0, 0]])


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_divides_by_n_minus_ddof(ddof, device):
    # mean 4, squared deviations 9 + 4 + 0 + 25 = 38
    x = mg.tensor([1.0, 2.0, 4.0, 9.0], dtype="float64", device=device)
    np.testing.assert_allclose(mg.var(x, ddof=ddof).item(), 38 / (4 - ddof), rtol=1e-14)


def test_sum_over_no_axes_keeps_the_tensor(device):
    x = mg.randn(2, 3, dtype="float64", device=device, requires_grad=True)
    y = mg.sum(x, axis=())
    np.testing.assert_array_equal(y.numpy(), x.numpy())
    y.backward(mg.ones(2, 3, dtype="float64", device=device))
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3)))


def test_reduction_of_a_scalar_tensor(device):
    x = mg.tensor(3.0, dtype="float64", device=device, requires_grad=True)
    for fn in (mg.sum, mg.mean, mg.max, mg.min, mg.logsumexp):
        x.grad = None
        y = fn(x)
        assert y.shape == () and y.item() == 3.0
        y.backward()
        assert x.grad.item() == 1.0, fn.__name__


def test_axis_list_and_dim_alias(device):
    values = np.arange(24.0).reshape(2, 3, 4)
    x = mg.tensor(values, device=device)
    np.testing.assert_array_equal(mg.sum(x, axis=[0, 2]).numpy(), values.sum(axis=(0, 2)))
    np.testing.assert_array_equal(x.sum(dim=1).numpy(), values.sum(axis=1))
    np.testing.assert_array_equal(x.max(dim=-1, keepdims=True).numpy(),
                                  values.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(x.mean(dim=(0, 1)).numpy(), values.mean(axis=(0, 1)))


def test_argmax_argmin_are_int64_and_not_differentiable(device):
    x = mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], device=device, requires_grad=True)
    index = mg.argmax(x, axis=1)
    assert index.dtype == mg.int64 and not index.requires_grad
    np.testing.assert_array_equal(index.numpy(), [1, 0])
    np.testing.assert_array_equal(mg.argmin(x, axis=0).numpy(), [0, 1, 0])
    assert mg.argmax(x).item() == 3


# --- keepdim=, PyTorch's spelling of keepdims= -----------------------------------------------

#: Every function that takes keepdims, with the positional arguments before it.
KEEPDIMS_FUNCTIONS = {"sum": mg.sum, "mean": mg.mean, "var": mg.var, "max": mg.max,
                      "min": mg.min, "argmax": mg.argmax, "argmin": mg.argmin, "any": mg.any,
                      "all": mg.all, "logsumexp": mg.logsumexp}
SINGLE_AXIS = {"argmax", "argmin"}


def test_every_function_with_keepdims_takes_keepdim():
    import inspect

    for name in mg.functional.__all__:
        parameters = inspect.signature(getattr(mg.functional, name)).parameters
        if "keepdims" in parameters:
            assert "keepdim" in parameters, name
            assert name in KEEPDIMS_FUNCTIONS or name == "global_avg_pool2d", name
            method = getattr(mg.Tensor, name, None)
            if method is not None:
                assert "keepdim" in inspect.signature(method).parameters, f"Tensor.{name}"


@given(name=st.sampled_from(sorted(KEEPDIMS_FUNCTIONS)), case=shapes_and_axes(),
       keep=st.booleans(), seed=st.integers(0, 2 ** 16))
@hypothesis_settings()
def test_keepdim_is_keepdims(name, case, keep, seed, device):
    shape, axis, _ = case
    if name in SINGLE_AXIS and isinstance(axis, tuple):
        axis = axis[0]
    rng = np.random.default_rng(seed)
    x = mg.tensor(rng.standard_normal(shape), dtype="float64", device=device)
    fn = KEEPDIMS_FUNCTIONS[name]
    expected = fn(x, axis, keepdims=keep)
    for out in (fn(x, axis, keepdim=keep), getattr(x, name)(axis, keepdim=keep),
                getattr(x, name)(dim=axis, keepdim=keep), fn(x, axis, keep, keepdim=keep)):
        assert out.shape == expected.shape and out.dtype == expected.dtype
        np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("name", ["argmax", "argmin", "any", "all"])
def test_keepdim_on_the_reductions_that_are_not_differentiable_matches_torch(name, device):
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    values = np.random.default_rng(0).standard_normal((3, 4))
    x = mg.tensor(values, device=device)
    expected = getattr(torch.from_numpy(values > 0 if name in ("any", "all") else values),
                       name)(dim=1, keepdim=True)
    out = getattr(x > 0 if name in ("any", "all") else x, name)(dim=1, keepdim=True)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


@pytest.mark.parametrize("name", sorted(KEEPDIMS_FUNCTIONS))
def test_contradicting_keepdims_and_keepdim_is_an_error(name, device):
    x = mg.ones(2, 3, device=device)
    message = (r"got keepdims=True and keepdim=False; give one of them \(keepdim is PyTorch's "
               r"spelling of keepdims\)")
    with pytest.raises(TypeError, match=message):
        KEEPDIMS_FUNCTIONS[name](x, 1, keepdims=True, keepdim=False)
    with pytest.raises(TypeError, match=message):
        getattr(x, name)(1, True, keepdim=False)
    with pytest.raises(TypeError, match="got keepdims=False and keepdim=True"):
        getattr(x, name)(dim=1, keepdims=False, keepdim=True)
    assert getattr(x, name)(1, keepdims=True, keepdim=True).shape == (2, 1)  # the same: fine


def test_global_avg_pool2d_takes_keepdim(device):
    x = mg.randn(2, 3, 4, 5, device=device)
    assert mg.global_avg_pool2d(x, keepdim=True).shape == (2, 1, 1, 5)
    np.testing.assert_array_equal(mg.global_avg_pool2d(x, keepdim=True).numpy(),
                                  mg.global_avg_pool2d(x, keepdims=True).numpy())
    with pytest.raises(TypeError, match="got keepdims=True and keepdim=False; give one of them"):
        mg.global_avg_pool2d(x, keepdims=True, keepdim=False)
