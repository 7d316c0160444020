"""dtype in = dtype out: every op returns the floating dtype it was given, in forward and in
the gradients, and never promotes silently to float64 (PyTorch's promotion rules otherwise)."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg

from ._specs import FLOAT_DTYPES, SPECS, hypothesis_settings, make_arrays, run_minigrad

SETTINGS = hypothesis_settings(max_examples=40)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("op", SPECS, ids=lambda op: op.id)
def test_outputs_and_gradients_keep_the_input_dtype(op, dtype, device):
    with np.errstate(over="ignore", invalid="ignore"):  # float16 may overflow; not the point
        outputs, inputs = run_minigrad(op.fn, make_arrays(op), dtype, device)
    if op.keeps_dtype:
        assert [o.dtype.name for o in outputs] == [dtype] * len(outputs)
    for i, x in enumerate(inputs):
        assert x.grad is not None, f"input {i} got no gradient"
        assert x.grad.dtype == x.dtype, f"input {i}: gradient {x.grad.dtype}, input {x.dtype}"


@pytest.mark.parametrize("source, target", [("float32", "float64"), ("float64", "float32"),
                                            ("float32", "float16"), ("float16", "float64")])
def test_astype_converts_forward_and_converts_the_gradient_back(source, target, device):
    x = mg.tensor([1.5, -2.0, 3.25], dtype=source, device=device, requires_grad=True)
    y = mg.astype(x, target)
    assert y.dtype == target
    (y * mg.tensor([1.0, 2.0, 3.0], dtype=target, device=device)).sum().backward()
    assert x.grad.dtype == source
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])


def test_astype_to_an_integer_dtype_leaves_the_graph(device):
    x = mg.tensor([1.5, -2.0], device=device, requires_grad=True)
    y = mg.astype(x, "int64")
    assert y.dtype == mg.int64 and not y.requires_grad
    np.testing.assert_array_equal(y.numpy(), [1, -2])


# --- binary ops with mixed dtypes --------------------------------------------------------------

BINARY = {
    "add": mg.add, "sub": mg.sub, "mul": mg.mul, "div": mg.div,
    "pow": mg.pow, "maximum": mg.maximum,
    "minimum": mg.minimum, "matmul": lambda a, b: mg.matmul(a, b.reshape(3, 1)),
    "where": lambda a, b: mg.where(np.array([True, False, True]), a, b),
    "concat": lambda a, b: mg.concat([a, b]), "stack": lambda a, b: mg.stack([a, b]),
}
SCALAR_BINARY = ["add", "sub", "mul", "div", "pow", "maximum", "minimum"]

float_dtypes = st.sampled_from(FLOAT_DTYPES)


def _input(dtype, device, values=(0.5, 1.25, 2.0)):
    return mg.tensor(list(values), dtype=dtype, device=device, requires_grad=True)


@SETTINGS
@given(op=st.sampled_from(sorted(BINARY)), a_dtype=float_dtypes, b_dtype=float_dtypes)
def test_two_float_dtypes_promote_and_each_gradient_keeps_its_input_dtype(op, a_dtype, b_dtype,
                                                                         device):
    a, b = _input(a_dtype, device), _input(b_dtype, device, (1.5, 0.75, -0.5))  # a > 0 for pow
    out = BINARY[op](a, b)
    assert out.dtype == np.promote_types(a_dtype, b_dtype)
    out.sum().backward()
    assert (a.grad.dtype, b.grad.dtype) == (a.dtype, b.dtype)


@SETTINGS
@given(op=st.sampled_from(SCALAR_BINARY), dtype=float_dtypes,
       scalar=st.one_of(st.floats(0.25, 4.0), st.integers(1, 4), st.floats(-4.0, -0.25)),
       scalar_first=st.booleans())
def test_a_python_number_takes_the_tensor_dtype(op, dtype, scalar, scalar_first, device):
    x = _input(dtype, device, (0.5, 1.25, 2.0))
    if op == "pow" and scalar_first:
        scalar = abs(scalar)  # a negative base to a fractional power is nan (dtype still holds)
    out = getattr(mg, op)(scalar, x) if scalar_first else getattr(mg, op)(x, scalar)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == dtype


@SETTINGS
@given(op=st.sampled_from(SCALAR_BINARY), int_dtype=st.sampled_from(["int32", "int64", "uint8"]),
       scalar=st.floats(0.25, 4.0), scalar_first=st.booleans())
def test_an_integer_tensor_with_a_float_number_gives_float32(op, int_dtype, scalar, scalar_first,
                                                             device):
    x = mg.tensor([1, 2, 3], dtype=int_dtype, device=device)
    out = getattr(mg, op)(scalar, x) if scalar_first else getattr(mg, op)(x, scalar)
    assert out.dtype == mg.float32
    # The number is rounded to float32 like the tensor, as in PyTorch: compute the same in NumPy.
    ints, number = np.array([1, 2, 3], dtype=np.float32), np.float32(scalar)
    numpy_op = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                "pow": np.power, "maximum": np.maximum, "minimum": np.minimum}[op]
    expected = numpy_op(number, ints) if scalar_first else numpy_op(ints, number)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)


@SETTINGS
@given(op=st.sampled_from(sorted(BINARY)), dtype=float_dtypes,
       int_dtype=st.sampled_from(["int32", "int64", "bool"]), int_first=st.booleans())
def test_an_integer_tensor_beside_a_float_tensor_takes_the_float_dtype(op, dtype, int_dtype,
                                                                       int_first, device):
    labels = mg.tensor([1, 2, 1], dtype=int_dtype, device=device)  # (bool: all True, no 1/0)
    x = _input(dtype, device, (1.5, 0.75, 2.5))
    out = BINARY[op](labels, x) if int_first else BINARY[op](x, labels)
    assert out.dtype == dtype
    out.sum().backward()
    assert x.grad.dtype == dtype  # integer labels never promote the gradient


# --- ops whose value is never an integer, on integer input -------------------------------------

FLOAT_VALUED = {
    "exp": mg.exp, "log": mg.log, "sqrt": mg.sqrt, "tanh": mg.tanh, "sigmoid": mg.sigmoid,
    "softplus": mg.softplus, "elu": mg.elu, "leaky_relu": mg.leaky_relu,
    "gelu": mg.gelu, "silu": mg.silu, "selu": mg.selu, "relu6": mg.relu6,
    "hard_sigmoid": mg.hard_sigmoid, "hard_silu": mg.hard_silu, "softsign": mg.softsign,
    "mish": mg.mish,
    "softmax": mg.softmax, "log_softmax": mg.log_softmax, "logsumexp": mg.logsumexp,
    "mean": mg.mean, "var": mg.var, "pow_half": lambda x: x ** 0.5,
    "div_int": lambda x: x / x, "clip_float_bounds": lambda x: mg.clip(x, 0.5, 2.5),
}


@pytest.mark.parametrize("fn", FLOAT_VALUED.values(), ids=FLOAT_VALUED.keys())
def test_integer_input_to_a_float_valued_op_gives_float32(fn, device):
    out = fn(mg.tensor([1, 2, 3], device=device))
    assert out.dtype == mg.float32


@pytest.mark.parametrize("op", ["relu", "abs", "neg", "max", "min"])
def test_integer_valued_ops_keep_integer_dtype(op, device):
    out = getattr(mg, op)(mg.tensor([1, -2, 3], dtype="int32", device=device))
    assert out.dtype == mg.int32
