"""Shape ops move values without changing them; their gradients move the upstream gradient back
into the input's shape. Here: the meaning of each op's arguments (-1, negative axes, numpy's
split, pad widths) and gradients worked out by hand."""

import numpy as np
import pytest
from hypothesis import given, strategies as st
from hypothesis.extra.numpy import array_shapes

import minigrad as mg

from ._specs import hypothesis_settings


def _arange(*shape, device="cpu", requires_grad=True):
    return mg.tensor(np.arange(float(np.prod(shape))).reshape(shape), dtype="float64",
                     device=device, requires_grad=requires_grad)


def test_reshape_infers_minus_one_and_accepts_a_tuple(device):
    x = _arange(2, 3, 4, device=device)
    assert mg.reshape(x, -1, 6).shape == (4, 6)
    assert x.reshape((3, -1)).shape == (3, 8)
    assert x.view(24).shape == (24,)
    np.testing.assert_array_equal(x.reshape(6, 4).numpy(), np.arange(24.0).reshape(6, 4))


def test_reshape_gradient_keeps_element_order(device):
    x = _arange(2, 3, device=device)
    y = x.reshape(3, 2)
    y.backward(mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype="float64", device=device))
    np.testing.assert_array_equal(x.grad.numpy(), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])


@pytest.mark.parametrize("call, expected_shape", [
    (lambda x: x.transpose(), (4, 3, 2)),
    (lambda x: x.T, (4, 3, 2)),
    (lambda x: x.transpose(0, 2), (4, 3, 2)),
    (lambda x: x.transpose(1, -1), (2, 4, 3)),
    (lambda x: x.transpose(2, 0, 1), (4, 2, 3)),
    (lambda x: x.permute(-1, 0, 1), (4, 2, 3)),
    (lambda x: x.swapaxes(0, 1), (3, 2, 4)),
])
def test_transposes_match_numpy_and_route_gradients_back(call, expected_shape, device):
    x = _arange(2, 3, 4, device=device)
    y = call(x)
    assert y.shape == expected_shape
    # the gradient is the upstream gradient moved back: pass y's own values as the gradient
    y.backward(y.detach())
    np.testing.assert_array_equal(x.grad.numpy(), x.numpy())


def test_expand_keeps_minus_one_sizes_and_sums_the_gradient(device):
    x = _arange(3, 1, device=device)
    y = x.expand(2, -1, 4)
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(np.arange(3.0)[:, None], (2, 3, 4)))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((3, 1), 8.0))


def test_squeeze_and_unsqueeze(device):
    x = _arange(1, 3, 1, 2, device=device)
    assert mg.squeeze(x).shape == (3, 2)
    assert x.squeeze(2).shape == (1, 3, 2)
    assert x.squeeze(dim=(0, -2)).shape == (3, 2)
    y = _arange(3, 2, device=device)
    assert mg.unsqueeze(y, 0).shape == (1, 3, 2)
    assert y.unsqueeze(-1).shape == (3, 2, 1)
    assert y.unsqueeze(dim=1).shape == (3, 1, 2)


@pytest.mark.parametrize("args, expected_shape", [((), (24,)), ((1,), (2, 12)), ((0, 1), (6, 4)),
                                                  ((1, -1), (2, 12)), ((-2, -1), (2, 12))])
def test_flatten_merges_the_axes_from_start_to_end(args, expected_shape, device):
    x = _arange(2, 3, 4, device=device)
    y = mg.flatten(x, *args)
    assert y.shape == expected_shape
    np.testing.assert_array_equal(y.numpy().ravel(), np.arange(24.0))


def test_flatten_of_a_scalar_gives_one_element(device):
    assert mg.flatten(mg.tensor(2.0, device=device)).shape == (1,)


def test_split_into_n_equal_sections_as_numpy(device):
    """split(x, 2) means two pieces (numpy), not pieces of size 2 (torch.split)."""
    x = _arange(6, device=device)
    pieces = mg.split(x, 2)
    assert [p.shape for p in pieces] == [(3,), (3,)]
    np.testing.assert_array_equal(pieces[1].numpy(), [3.0, 4.0, 5.0])


def test_split_at_indices_as_numpy(device):
    x = _arange(2, 6, device=device)
    pieces = x.split([1, 4], axis=1)
    assert [p.shape for p in pieces] == [(2, 1), (2, 3), (2, 2)]
    for piece, expected in zip(pieces, np.split(np.arange(12.0).reshape(2, 6), [1, 4], axis=1)):
        np.testing.assert_array_equal(piece.numpy(), expected)


def test_split_pieces_that_are_not_used_get_zero_gradient(device):
    x = _arange(6, device=device)
    first, middle, last = mg.split(x, 3)
    (middle * 2 + last).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0, 2.0, 2.0, 1.0, 1.0])


def test_concat_routes_each_gradient_slice_to_its_input(device):
    a, b = _arange(2, 1, device=device), _arange(2, 2, device=device)
    y = mg.concat([a, b], axis=1)
    np.testing.assert_array_equal(y.numpy(), [[0.0, 0.0, 1.0], [1.0, 2.0, 3.0]])
    y.backward(mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], dtype="float64", device=device))
    np.testing.assert_array_equal(a.grad.numpy(), [[1.0], [4.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [[2.0, 3.0], [5.0, 6.0]])


def test_stack_adds_an_axis_and_routes_gradients(device):
    a, b = _arange(3, device=device), _arange(3, device=device)
    y = mg.stack([a, b * 10], axis=1)
    np.testing.assert_array_equal(y.numpy(), [[0.0, 0.0], [1.0, 10.0], [2.0, 20.0]])
    y.backward(mg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], dtype="float64", device=device))
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(b.grad.numpy(), [20.0, 40.0, 60.0])


def test_concat_of_an_integer_tensor_and_a_float_tensor(device):
    y = mg.concat([mg.tensor([1, 2], device=device), mg.tensor([0.5], device=device)])
    assert y.dtype == mg.float32
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0, 0.5])


def test_pad_fills_with_the_value_and_passes_back_the_interior(device):
    x = _arange(2, 2, device=device)
    y = mg.pad(x, ((1, 0), (0, 2)), value=-1.0)
    np.testing.assert_array_equal(y.numpy(), [[-1, -1, -1, -1], [0, 1, -1, -1], [2, 3, -1, -1]])
    g = np.arange(12.0).reshape(3, 4)
    y.backward(g)
    np.testing.assert_array_equal(x.grad.numpy(), g[1:, :2])


def test_pad_with_one_width_for_every_side(device):
    x = _arange(2, 3, device=device)
    assert mg.pad(x, 1).shape == (4, 5)
    assert mg.pad(x, (0, 2)).shape == (4, 5)


def test_transpose_of_two_axes_swaps_them_also_for_a_matrix(device):
    m = _arange(2, 3, device=device)
    for swapped in (m.transpose(0, 1), m.transpose(1, 0), mg.transpose(m, -1, 0)):
        np.testing.assert_array_equal(swapped.numpy(), m.numpy().T)


@pytest.mark.parametrize("call", [
    lambda ts: mg.concat(ts, dim=1), lambda ts: mg.stack(ts, dim=1),
    lambda ts: mg.split(ts[0], 3, dim=1)])
def test_join_and_split_accept_dim(call, device):
    tensors = [_arange(2, 3, device=device) for _ in range(2)]
    pieces = call(tensors)
    shapes = [p.shape for p in pieces] if isinstance(pieces, tuple) else [pieces.shape]
    assert shapes in ([(2, 6)], [(2, 2, 3)], [(2, 1)] * 3)


def test_cat_is_concat_with_pytorchs_argument_order(device):
    a, b = _arange(2, 3, device=device), _arange(2, 1, device=device)
    np.testing.assert_array_equal(mg.cat([a, b], 1).numpy(), mg.concat([a, b], axis=1).numpy())
    assert mg.cat([a, b], dim=-1).shape == mg.cat([a, b], axis=-1).shape == (2, 4)
    assert mg.cat((a, a)).shape == (4, 3)  # dim 0 by default, as torch.cat
    assert mg.cat([a, mg.tensor([[1, 2, 3]], device=device)]).dtype == a.dtype


@given(shape=array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=3), data=st.data())
@hypothesis_settings()
def test_cat_matches_numpy_for_any_shapes(shape, data, device):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    sizes = data.draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    shapes = [shape[:axis % len(shape)] + (n,) + shape[axis % len(shape) + 1:] for n in sizes]
    arrays = [np.random.default_rng(i).standard_normal(s) for i, s in enumerate(shapes)]
    out = mg.cat([mg.tensor(a, device=device) for a in arrays], dim=axis)
    np.testing.assert_array_equal(out.numpy(), np.concatenate(arrays, axis=axis))


def test_cat_errors_name_the_problem(device):
    a = _arange(2, 3, device=device)
    with pytest.raises(TypeError, match=r"got axis=0 and dim=1; give one of them"):
        mg.cat([a, a], 1, axis=0)
    with pytest.raises(ValueError, match=r"concat along axis 0: tensor 1 has shape \(2, 2\), "
                                         r"which does not match tensor 0's shape \(2, 3\)"):
        mg.cat([a, _arange(2, 2, device=device)])
    with pytest.raises(ValueError, match="concat needs at least one tensor"):
        mg.cat([])
