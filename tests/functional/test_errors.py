"""Bad input raises an error that says what was expected and what was given (the shapes, the
axis, the dtype), not a bare NumPy message from deep inside an op."""

import re

import numpy as np
import pytest

import minigrad as mg


def _t(*shape, device="cpu", dtype="float32"):
    return mg.ones(*shape, dtype=dtype, device=device)


def _shapes(*shapes):
    """A regex that finds every shape in a message, in order, e.g. "(2, 3) ... (4, 5)"."""
    return ".*".join(re.escape(str(s)) for s in shapes)


# case -> (call on a device, exception type, regex the message must match)
CASES = {
    "matmul_inner_mismatch": (lambda d: _t(2, 3, device=d) @ _t(4, 5, device=d), ValueError,
                              "matmul: shapes " + _shapes((2, 3), (4, 5))),
    "matmul_vector_mismatch": (lambda d: mg.matmul(_t(3, device=d), _t(4, 2, device=d)),
                               ValueError, _shapes((3,), (4, 2))),
    "matmul_batch_mismatch": (lambda d: _t(2, 3, 4, device=d) @ _t(5, 4, 2, device=d),
                              ValueError, "batch dimensions.*" + _shapes((2, 3, 4), (5, 4, 2))),
    "matmul_scalar": (lambda d: mg.matmul(mg.tensor(2.0, device=d), _t(2, device=d)),
                      ValueError, "at least 1 dimension"),
    "add_broadcast": (lambda d: _t(2, 3, device=d) + _t(4, 5, device=d), ValueError,
                      "add: shapes " + _shapes((2, 3), (4, 5)) + ".*broadcast"),
    "mul_broadcast": (lambda d: mg.mul(_t(3, device=d), _t(2, 1, 4, device=d)), ValueError,
                      _shapes((3,), (2, 1, 4))),
    "maximum_broadcast": (lambda d: mg.maximum(_t(2, device=d), _t(3, device=d)), ValueError,
                          "maximum: shapes " + _shapes((2,), (3,))),
    "where_broadcast": (lambda d: mg.where(np.ones(3, bool), _t(2, device=d), _t(3, device=d)),
                        ValueError, "where: shapes " + _shapes((3,), (2,), (3,))),
    "broadcast_to_bad_shape": (lambda d: mg.broadcast_to(_t(2, 3, device=d), (4, 3)),
                               ValueError, _shapes((2, 3), (4, 3))),
    "broadcast_to_fewer_dims": (lambda d: mg.broadcast_to(_t(2, 3, device=d), (3,)),
                                ValueError, _shapes((2, 3), (3,))),
    "expand_fewer_dims": (lambda d: _t(2, 3, device=d).expand(3), ValueError,
                          "expand: shape " + _shapes((3,), (2, 3))),
    "reshape_wrong_size": (lambda d: _t(2, 3, device=d).reshape(4, 2), ValueError,
                           _shapes((2, 3)) + r" \(6 elements\) into shape " + _shapes((4, 2))),
    "reshape_two_minus_ones": (lambda d: _t(2, 3, device=d).reshape(-1, -1), ValueError,
                               "cannot reshape a tensor of shape " + _shapes((2, 3))),
    "reshape_minus_one_does_not_divide": (lambda d: _t(2, 3, device=d).reshape(4, -1),
                                          ValueError, _shapes((2, 3), (4, -1))),
    "concat_mismatch": (lambda d: mg.concat([_t(2, 3, device=d), _t(2, 4, device=d)]),
                        ValueError, "tensor 1 has shape " + _shapes((2, 4), (2, 3))),
    "concat_ndim_mismatch": (lambda d: mg.concat([_t(2, 3, device=d), _t(3, device=d)]),
                             ValueError, "tensor 1 has shape " + _shapes((3,), (2, 3))),
    "concat_nothing": (lambda d: mg.concat([]), ValueError, "at least one tensor"),
    "stack_mismatch": (lambda d: mg.stack([_t(2, device=d), _t(2, device=d), _t(3, device=d)]),
                       ValueError, "tensor 2 has shape " + _shapes((3,), (2,))),
    "split_unequal": (lambda d: mg.split(_t(5, 2, device=d), 2), ValueError,
                      _shapes((5, 2)) + r" \(size 5\) cannot be split into 2 equal pieces"),
    "index_float_array": (lambda d: _t(3, device=d)[np.array([0.0, 1.0])], IndexError,
                          "integer or boolean, got dtype float64"),
    "index_float_tensor": (lambda d: _t(3, device=d)[mg.tensor([1.0], device=d)], IndexError,
                           "integer or boolean, got dtype float32"),
    "index_float_number": (lambda d: _t(3, device=d)[0.5], IndexError, "got the float 0.5"),
    "index_out_of_range": (lambda d: _t(3, 4, device=d)[[0, 5]], IndexError,
                           r"into a tensor of shape \(3, 4\).*index 5"),
    "clip_min_above_max": (lambda d: mg.clip(_t(3, device=d), 2.0, 1.0), ValueError,
                           r"min \(2.0\) is larger than max \(1.0\)"),
    "clip_without_bounds": (lambda d: mg.clip(_t(3, device=d)), ValueError,
                            "at least one of min and max"),
    "squeeze_non_one_axis": (lambda d: _t(2, 1, 3, device=d).squeeze(2), ValueError,
                             "axis 2 of a tensor of shape " + _shapes((2, 1, 3))
                             + " has size 3, not 1"),
    "unsqueeze_without_axis": (lambda d: mg.unsqueeze(_t(2, device=d)), TypeError,
                               "needs an axis"),
    "permute_not_a_permutation": (lambda d: _t(2, 3, device=d).permute(0, 0), ValueError,
                                  r"\(0, 0\) is not a permutation of the 2 axes"),
    "permute_axis_out_of_range": (lambda d: _t(2, 3, device=d).permute(0, 3), ValueError,
                                  r"\(0, 3\) is not a permutation of the 2 axes.*"
                                  + _shapes((2, 3))),
    "sum_axis_out_of_range": (lambda d: _t(2, 3, device=d).sum(axis=2), ValueError,
                              "axis 2 is out of range for a tensor with 2 dimensions"),
    "mean_repeated_axis": (lambda d: _t(2, 3, device=d).mean(axis=(1, -1)), ValueError,
                           "repeated axis"),
    "axis_not_an_int": (lambda d: _t(2, 3, device=d).sum(axis=1.5), TypeError,
                        "axis must be an int or a tuple of ints, got 1.5"),
    "axis_and_dim_disagree": (lambda d: _t(2, 3, device=d).sum(axis=0, dim=1), TypeError,
                              "got axis=0 and dim=1"),
    "softmax_tuple_axis": (lambda d: mg.softmax(_t(2, 3, device=d), axis=(0, 1)), TypeError,
                           r"softmax takes one axis \(an int\)"),
    "max_of_empty": (lambda d: mg.max(_t(0, 3, device=d)), ValueError,
                     "max of an empty tensor .shape " + _shapes((0, 3))),
    "argmax_tuple_axis": (lambda d: mg.argmax(_t(2, 3, device=d), axis=(0, 1)), TypeError,
                          "one axis"),
    "flatten_start_after_end": (lambda d: mg.flatten(_t(2, 3, 4, device=d), 2, 1), ValueError,
                                "start_axis 2 comes after end_axis 1"),
    "pad_negative": (lambda d: mg.pad(_t(2, 3, device=d), -1), ValueError,
                     "must not be negative"),
    "pad_wrong_pairs": (lambda d: mg.pad(_t(2, 3, device=d), ((1, 1), (1, 1), (1, 1))),
                        ValueError, "does not fit a tensor of shape " + _shapes((2, 3))),
    "two_numbers": (lambda d: mg.add(1.0, 2.0), TypeError, "at least one Tensor"),
    "complex_number": (lambda d: _t(2, device=d) * 1j, TypeError, "complex"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_raises_a_clear_error(case, device):
    call, exception, message = case
    with pytest.raises(exception, match=message):
        call(device)
