"""The table of differentiable ops that the spec-driven tests run over.

Each :class:`OpSpec` names one way of calling one op: the minigrad call, the same call in
PyTorch (or None where PyTorch has no such op), and one maker per input tensor that draws values
from the op's domain, away from its kinks (abs/relu not near 0, max without ties, log/sqrt on
positive numbers, clip not at its bounds). ``test_gradcheck.py``, ``test_against_torch.py`` and
``test_dtypes.py`` are parametrized over :data:`SPECS`; the focused files test what a table
cannot (ties, repeated indices, extreme values, errors).

Also here: :func:`unbroadcast_reference`, the tests' own (NumPy) answer to "which gradient does
each input element get when it was broadcast"; :func:`run_minigrad`, which runs an op forward and
backward with a random upstream gradient; and the hypothesis settings every property test uses.
PyTorch is not imported here, so that the tests that do not need it run without it.
"""

from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
from hypothesis import HealthCheck, settings

import minigrad as mg

FLOAT_DTYPES = ("float16", "float32", "float64")

#: Why the comparisons with PyTorch skip without it, and how to get it (minigrad is installed
#: from its clone: 'minigrad' on the package index is another project).
NO_TORCH = 'PyTorch not installed: pip install -e ".[torch]" in the minigrad clone'


def hypothesis_settings(max_examples=40):
    """Settings of the property tests: few enough examples to keep the suite fast, no deadline
    (the first call of a kernel compiles), and the ``device`` fixture allowed (it is a plain
    string, the same for every example)."""
    return settings(max_examples=max_examples, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


# --- input makers: rng -> float64 array of one shape, from one domain ------------------------

def normal(*shape, scale=1.0):
    """Standard normal values (no kinks to avoid)."""
    return lambda rng: rng.standard_normal(shape) * scale


def positive(*shape, low=0.5, high=2.0):
    """Uniform on [low, high]: for log, sqrt, the base of a power."""
    return lambda rng: rng.uniform(low, high, shape)


def away_from_zero(*shape, low=0.3, high=2.0):
    """Random sign times uniform on [low, high]: for abs, relu and divisors."""
    return lambda rng: rng.choice([-1.0, 1.0], shape) * rng.uniform(low, high, shape)


def grid(*shape, offset=0.0, step=0.25, half_width=8):
    """Values ``offset + step * k`` for random integers k in [-half_width, half_width).

    Exact in every float dtype. Two grids with offsets 0 and 0.1 never tie (they differ by at
    least 0.1), and a grid with offset 0.1 never hits a bound that is a multiple of 0.25.
    """
    return lambda rng: offset + step * rng.integers(-half_width, half_width, shape).astype(float)


def distinct(*shape, step=0.1):
    """All values different (a shuffled ramp): reductions max/min without ties."""
    size = int(np.prod(shape))
    return lambda rng: (rng.permutation(size) - size / 2).reshape(shape) * step


# --- the table -------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpSpec:
    """One call of one op. ``fn(*tensors)`` and ``torch_fn(torch, *torch_tensors)`` return a
    tensor or a tuple of tensors; ``inputs`` holds one maker per tensor argument."""

    id: str
    fn: Callable
    torch_fn: Optional[Callable]
    inputs: tuple
    gradcheck_kwargs: dict = field(default_factory=dict)
    #: The output has the inputs' dtype (False only for astype).
    keeps_dtype: bool = True

    def __repr__(self):
        return self.id


SPECS = []


def spec(id, fn, torch_fn, *inputs, **options):
    SPECS.append(OpSpec(id, fn, torch_fn, tuple(inputs), **options))


def _dims(axis, ndim):
    """minigrad's axis=None (everything) as PyTorch's explicit tuple of dims."""
    return tuple(range(ndim)) if axis is None else axis


def _other_float(dtype):
    return mg.float32 if dtype == mg.float64 else mg.float64


# arithmetic (with broadcasting, and Python numbers on either side)
spec("add", mg.add, lambda T, a, b: a + b, normal(3, 4), normal(4))
spec("add_scalar", lambda a: a + 2.5, lambda T, a: a + 2.5, normal(3, 4))
spec("radd_scalar", lambda a: 2.5 + a, lambda T, a: 2.5 + a, normal(3, 4))
spec("sub", mg.sub, lambda T, a, b: a - b, normal(2, 1, 3), normal(4, 1))
spec("rsub_scalar", lambda a: 2.5 - a, lambda T, a: 2.5 - a, normal(3, 4))
spec("mul", mg.mul, lambda T, a, b: a * b, normal(3, 1), normal(1, 4))
spec("mul_scalar", lambda a: a * -1.5, lambda T, a: a * -1.5, normal(3, 4))
spec("div", mg.div, lambda T, a, b: a / b, normal(3, 4), away_from_zero(3, 1, low=0.5))
spec("rdiv_scalar", lambda a: 2.0 / a, lambda T, a: 2.0 / a, away_from_zero(3, 4, low=0.5))
spec("neg", mg.neg, lambda T, a: -a, normal(3, 4))
spec("pow_scalar_int", lambda a: a ** 3, lambda T, a: a ** 3, normal(3, 4))
spec("pow_scalar_half", lambda a: a ** 0.5, lambda T, a: a ** 0.5, positive(3, 4))
spec("pow_scalar_negative", lambda a: a ** -1.5, lambda T, a: a ** -1.5, positive(3, 4))
spec("pow_scalar_zero", lambda a: a ** 0, lambda T, a: a ** 0, normal(3, 4))
spec("pow_tensor", mg.pow, lambda T, a, b: a ** b, positive(3, 4), normal(4))
spec("rpow_scalar", lambda b: 2.0 ** b, lambda T, b: 2.0 ** b, normal(3, 4))

# matrix products: 2-D, batched with broadcast batch dims, and vectors on either side
spec("matmul_2d", mg.matmul, lambda T, a, b: a @ b, normal(3, 4), normal(4, 2))
spec("matmul_batched", mg.matmul, lambda T, a, b: a @ b, normal(2, 3, 4), normal(2, 4, 5))
spec("matmul_batch_broadcast", mg.matmul, lambda T, a, b: a @ b, normal(2, 1, 3, 4),
     normal(3, 4, 2))
spec("matmul_batched_by_2d", mg.matmul, lambda T, a, b: a @ b, normal(2, 3, 4), normal(4, 2))
spec("matmul_vec_mat", mg.matmul, lambda T, a, b: a @ b, normal(4), normal(4, 3))
spec("matmul_mat_vec", mg.matmul, lambda T, a, b: a @ b, normal(3, 4), normal(4))
spec("matmul_vec_vec", mg.matmul, lambda T, a, b: a @ b, normal(4), normal(4))
spec("matmul_vec_batched", mg.matmul, lambda T, a, b: a @ b, normal(4), normal(2, 4, 3))
spec("matmul_batched_vec", mg.matmul, lambda T, a, b: a @ b, normal(2, 3, 4), normal(4))

# elementwise math and activations
spec("exp", mg.exp, lambda T, a: T.exp(a), normal(3, 4))
spec("log", mg.log, lambda T, a: T.log(a), positive(3, 4))
spec("sqrt", mg.sqrt, lambda T, a: T.sqrt(a), positive(3, 4))
spec("abs", mg.abs, lambda T, a: T.abs(a), away_from_zero(3, 4))
spec("tanh", mg.tanh, lambda T, a: T.tanh(a), normal(3, 4, scale=2))
spec("sigmoid", mg.sigmoid, lambda T, a: T.sigmoid(a), normal(3, 4, scale=3))
spec("relu", mg.relu, lambda T, a: T.relu(a), away_from_zero(3, 4))
spec("leaky_relu", lambda a: mg.leaky_relu(a, 0.1),
     lambda T, a: T.nn.functional.leaky_relu(a, 0.1), away_from_zero(3, 4))
spec("elu", lambda a: mg.elu(a, alpha=1.3), lambda T, a: T.nn.functional.elu(a, alpha=1.3),
     away_from_zero(3, 4))
spec("softplus", mg.softplus, lambda T, a: T.nn.functional.softplus(a), normal(3, 4, scale=3))
# beta * x crosses the threshold 5 at x = 2.5; grid values (offset 0.1) stay 0.1 away from it.
spec("softplus_beta_threshold", lambda a: mg.softplus(a, beta=2.0, threshold=5.0),
     lambda T, a: T.nn.functional.softplus(a, beta=2.0, threshold=5.0),
     grid(3, 4, offset=0.1, half_width=16))
# the activations Keras users name by string; the piecewise ones on grids (offset 0.1) that stay
# away from their kinks (0 and 6; -3 and 3)
spec("gelu", mg.gelu, lambda T, a: T.nn.functional.gelu(a), normal(3, 4, scale=3))
spec("gelu_tanh", lambda a: mg.gelu(a, approximate=True),
     lambda T, a: T.nn.functional.gelu(a, approximate="tanh"), normal(3, 4, scale=3))
spec("silu", mg.silu, lambda T, a: T.nn.functional.silu(a), normal(3, 4, scale=3))
spec("selu", mg.selu, lambda T, a: T.nn.functional.selu(a), away_from_zero(3, 4))
spec("relu6", mg.relu6, lambda T, a: T.nn.functional.relu6(a),
     grid(3, 4, offset=0.1, half_width=32))
# torch's hardsigmoid backward multiplies by 1.0f / 6.0f, a float32 sixth, also in float64
# (a relative error of 3e-8): compared with relu6(x + 3) / 6, its definition, instead.
spec("hard_sigmoid", mg.hard_sigmoid, lambda T, a: T.nn.functional.relu6(a + 3) / 6,
     grid(3, 4, offset=0.1, half_width=24))
spec("hard_silu", mg.hard_silu, lambda T, a: T.nn.functional.hardswish(a),
     grid(3, 4, offset=0.1, half_width=24))
spec("softsign", mg.softsign, lambda T, a: T.nn.functional.softsign(a), normal(3, 4, scale=3))
spec("mish", mg.mish, lambda T, a: T.nn.functional.mish(a), normal(3, 4, scale=3))
spec("clip", lambda a: mg.clip(a, -0.5, 0.75), lambda T, a: T.clamp(a, -0.5, 0.75),
     grid(3, 4, offset=0.1))
spec("clip_min_only", lambda a: mg.clip(a, min=-0.5), lambda T, a: T.clamp(a, min=-0.5),
     grid(3, 4, offset=0.1))
spec("clip_max_only", lambda a: mg.clip(a, max=0.75), lambda T, a: T.clamp(a, max=0.75),
     grid(3, 4, offset=0.1))
spec("maximum", mg.maximum, lambda T, a, b: T.maximum(a, b), grid(3, 4, offset=0.1), grid(4))
spec("minimum", mg.minimum, lambda T, a, b: T.minimum(a, b), grid(3, 1), grid(1, 4, offset=0.1))
spec("maximum_scalar", lambda a: mg.maximum(a, 0.3), lambda T, a: T.clamp(a, min=0.3),
     grid(3, 4))

_CONDITION = np.array([[True, False, False, True], [False, True, True, True],
                       [True, True, False, False]])
spec("where", lambda a, b: mg.where(_CONDITION, a, b),
     lambda T, a, b: T.where(T.from_numpy(_CONDITION), a, b), normal(3, 4), normal(4))
spec("where_scalar", lambda a: mg.where(_CONDITION, a, 0.5),
     lambda T, a: T.where(T.from_numpy(_CONDITION), a, 0.5), normal(3, 4))

# reductions over None / int / negative int / tuple, with and without keepdims
_AXES = [(None, False), (0, False), (-1, True), ((0, 2), False), ((-1, 0), True), (None, True)]


def _axis_id(axis, keepdims):
    return f"{axis}{'_keepdims' if keepdims else ''}".replace(" ", "")


for _axis, _keep in _AXES:
    _tag = _axis_id(_axis, _keep)
    spec(f"sum[{_tag}]", lambda a, ax=_axis, k=_keep: mg.sum(a, ax, k),
         lambda T, a, ax=_axis, k=_keep: T.sum(a, _dims(ax, a.ndim), keepdim=k), normal(2, 3, 4))
    spec(f"mean[{_tag}]", lambda a, ax=_axis, k=_keep: mg.mean(a, ax, k),
         lambda T, a, ax=_axis, k=_keep: T.mean(a, _dims(ax, a.ndim), keepdim=k), normal(2, 3, 4))
    spec(f"max[{_tag}]", lambda a, ax=_axis, k=_keep: mg.max(a, ax, k),
         lambda T, a, ax=_axis, k=_keep: T.amax(a, _dims(ax, a.ndim), keepdim=k),
         distinct(2, 3, 4))
    spec(f"min[{_tag}]", lambda a, ax=_axis, k=_keep: mg.min(a, ax, k),
         lambda T, a, ax=_axis, k=_keep: T.amin(a, _dims(ax, a.ndim), keepdim=k),
         distinct(2, 3, 4))
    for _ddof in (0, 1):
        spec(f"var[{_tag},ddof={_ddof}]",
             lambda a, ax=_axis, k=_keep, d=_ddof: mg.var(a, ax, k, ddof=d),
             lambda T, a, ax=_axis, k=_keep, d=_ddof: T.var(a, _dims(ax, a.ndim), correction=d,
                                                          keepdim=k),
             normal(2, 3, 4))
    spec(f"logsumexp[{_tag}]", lambda a, ax=_axis, k=_keep: mg.logsumexp(a, ax, k),
         lambda T, a, ax=_axis, k=_keep: T.logsumexp(a, _dims(ax, a.ndim), keepdim=k),
         normal(2, 3, 4, scale=2))

# PyTorch's spellings, dim= and keepdim=, as methods: the two calls read the same
spec("sum_torch_spelling", lambda a: a.sum(dim=1, keepdim=True),
     lambda T, a: a.sum(dim=1, keepdim=True), normal(2, 3, 4))
spec("mean_torch_spelling", lambda a: a.mean(dim=(0, 2), keepdim=True),
     lambda T, a: a.mean(dim=(0, 2), keepdim=True), normal(2, 3, 4))
spec("var_torch_spelling", lambda a: a.var(dim=-1, keepdim=True, ddof=1),
     lambda T, a: a.var(dim=-1, keepdim=True), normal(2, 3, 4))
spec("max_torch_spelling", lambda a: a.max(dim=1, keepdim=True),
     lambda T, a: a.amax(dim=1, keepdim=True), distinct(2, 3, 4))
spec("min_torch_spelling", lambda a: mg.min(a, dim=0, keepdim=True),
     lambda T, a: T.amin(a, dim=0, keepdim=True), distinct(2, 3, 4))
spec("logsumexp_torch_spelling", lambda a: a.logsumexp(dim=-1, keepdim=True),
     lambda T, a: a.logsumexp(dim=-1, keepdim=True), normal(2, 3, 4, scale=2))
spec("global_avg_pool2d_keepdim", lambda a: mg.global_avg_pool2d(a, keepdim=True),
     lambda T, a: a.mean(dim=(1, 2), keepdim=True), normal(2, 3, 4, 5))

for _axis in (-1, 0, 1):
    spec(f"softmax[{_axis}]", lambda a, ax=_axis: mg.softmax(a, ax),
         lambda T, a, ax=_axis: T.softmax(a, dim=ax), normal(2, 3, 4, scale=2))
    spec(f"log_softmax[{_axis}]", lambda a, ax=_axis: mg.log_softmax(a, ax),
         lambda T, a, ax=_axis: T.log_softmax(a, dim=ax), normal(2, 3, 4, scale=2))

# shapes
spec("reshape", lambda a: mg.reshape(a, 4, -1), lambda T, a: a.reshape(4, -1), normal(2, 3, 4))
spec("reshape_flat", lambda a: a.reshape((24,)), lambda T, a: a.reshape(24), normal(2, 3, 4))
spec("transpose_2d", lambda a: a.T, lambda T, a: a.T, normal(3, 4))
spec("transpose_reverse", lambda a: mg.transpose(a), lambda T, a: a.permute(2, 1, 0),
     normal(2, 3, 4))
spec("transpose_two_axes", lambda a: mg.transpose(a, 0, 2), lambda T, a: a.transpose(0, 2),
     normal(2, 3, 4))
spec("permute", lambda a: mg.permute(a, 2, 0, 1), lambda T, a: a.permute(2, 0, 1),
     normal(2, 3, 4))
spec("swapaxes", lambda a: mg.swapaxes(a, -1, 0), lambda T, a: a.swapaxes(-1, 0),
     normal(2, 3, 4))
spec("expand", lambda a: mg.expand(a, 2, -1, 4), lambda T, a: a.expand(2, -1, 4), normal(3, 1))
spec("broadcast_to", lambda a: mg.broadcast_to(a, (2, 3, 4)),
     lambda T, a: T.broadcast_to(a, (2, 3, 4)), normal(1, 4))
spec("squeeze_all", lambda a: mg.squeeze(a), lambda T, a: a.squeeze(), normal(3, 1, 4, 1))
spec("squeeze_axis", lambda a: mg.squeeze(a, 1), lambda T, a: a.squeeze(1), normal(3, 1, 4, 1))
spec("squeeze_axes", lambda a: mg.squeeze(a, (1, -1)), lambda T, a: a.squeeze((1, 3)),
     normal(3, 1, 4, 1))
spec("unsqueeze", lambda a: mg.unsqueeze(a, 1), lambda T, a: a.unsqueeze(1), normal(3, 4))
spec("unsqueeze_last", lambda a: mg.unsqueeze(a, -1), lambda T, a: a.unsqueeze(-1),
     normal(3, 4))
spec("flatten", lambda a: mg.flatten(a), lambda T, a: T.flatten(a), normal(2, 3, 4))
spec("flatten_from_1", lambda a: mg.flatten(a, 1), lambda T, a: T.flatten(a, 1),
     normal(2, 3, 4))
spec("flatten_0_1", lambda a: mg.flatten(a, 0, 1), lambda T, a: T.flatten(a, 0, 1),
     normal(2, 3, 4))
spec("pad", lambda a: mg.pad(a, ((1, 2), (0, 1)), value=0.5),
     lambda T, a: T.nn.functional.pad(a, (0, 1, 1, 2), value=0.5), normal(3, 4))
spec("concat", lambda a, b, c: mg.concat([a, b, c], axis=1),
     lambda T, a, b, c: T.cat([a, b, c], dim=1), normal(2, 3), normal(2, 1), normal(2, 2))
spec("concat_negative_axis", lambda a, b: mg.concat([a, b], axis=-2),
     lambda T, a, b: T.cat([a, b], dim=-2), normal(2, 3, 4), normal(2, 1, 4))
spec("cat", lambda a, b, c: mg.cat([a, b, c], dim=1),
     lambda T, a, b, c: T.cat([a, b, c], dim=1), normal(2, 3), normal(2, 1), normal(2, 2))
spec("cat_positional_dim", lambda a, b: mg.cat((a, b), -2),
     lambda T, a, b: T.cat((a, b), -2), normal(2, 3, 4), normal(2, 1, 4))
spec("cat_default_dim", lambda a, b: mg.cat([a, b]), lambda T, a, b: T.cat([a, b]),
     normal(1, 3), normal(2, 3))
spec("stack", lambda a, b, c: mg.stack([a, b, c], axis=1),
     lambda T, a, b, c: T.stack([a, b, c], dim=1), normal(2, 3), normal(2, 3), normal(2, 3))
spec("stack_last", lambda a, b: mg.stack([a, b], axis=-1),
     lambda T, a, b: T.stack([a, b], dim=-1), normal(2, 3), normal(2, 3))
# numpy.split semantics: an int is a number of equal pieces, a list holds split indices
# (that is torch.tensor_split, not torch.split).
spec("split_sections", lambda a: mg.split(a, 3, axis=1),
     lambda T, a: T.tensor_split(a, 3, dim=1), normal(2, 6))
spec("split_indices", lambda a: mg.split(a, [1, 4], axis=1),
     lambda T, a: T.tensor_split(a, [1, 4], dim=1), normal(2, 6))
spec("split_axis0", lambda a: mg.split(a, 2),
     lambda T, a: T.tensor_split(a, 2, dim=0), normal(4, 3))
spec("astype", lambda a: mg.astype(a, _other_float(a.dtype)),
     lambda T, a: a.to(T.float32 if a.dtype == T.float64 else T.float64), normal(3, 4),
     # the output is float32 for a float64 input: difference quotients need a larger step
     gradcheck_kwargs=dict(eps=1e-2, atol=1e-4), keeps_dtype=False)

spec("clone", mg.clone, lambda T, a: T.clone(a), normal(3, 4))
spec("clone_method_of_a_view", lambda a: a.T[1:].clone(), lambda T, a: a.T[1:].clone(),
     normal(3, 4))

# indexing (getitem) on a (4, 5) tensor; integer arrays repeat indices: gradients must add up
_MASK = np.array([[True, False, True, True, False], [False, False, False, True, True],
                  [True, True, True, False, False], [False, True, False, False, True]])
INDEX_KEYS = {
    "slice": (slice(1, None), slice(None, None, 2)),
    "int": 2,
    "ellipsis_int": (Ellipsis, 1),
    "negative_slice": (slice(None, -1), slice(-3, None)),
    "newaxis": (None, slice(0, 2)),
    "int_array_repeats": np.array([0, 2, 0, 0]),
    "int_array_2d": np.array([[0, 1], [1, 1]]),
    "int_array_negative": np.array([-1, 0, -1]),
    "two_int_arrays": (np.array([0, 0, 1, 0]), np.array([2, 2, 4, 2])),
    "slice_then_array": (slice(None), np.array([4, 4, 0])),
    "array_then_slice": (np.array([0, 0, 3]), slice(1, 4)),
    "int_then_array": (1, np.array([3, 3, 0])),
    "bool_mask": _MASK,
    "bool_rows": np.array([True, False, True, True]),
    "bool_rows_and_cols": (np.array([True, False, True, True]), slice(None, None, 2)),
}


def torch_key(T, key):
    """An index key with NumPy arrays turned into torch tensors."""
    if isinstance(key, tuple):
        return tuple(torch_key(T, k) for k in key)
    return T.from_numpy(key) if isinstance(key, np.ndarray) else key


for _name, _key in INDEX_KEYS.items():
    spec(f"getitem[{_name}]", lambda a, k=_key: a[k],
         lambda T, a, k=_key: a[torch_key(T, k)], normal(4, 5))


# --- running an op -----------------------------------------------------------------------------

def make_arrays(op, seed=0):
    """The op's input values (float64 NumPy arrays), the same for every dtype and device."""
    rng = np.random.default_rng([seed, sum(map(ord, op.id))])
    return [np.asarray(maker(rng), dtype=np.float64) for maker in op.inputs]


def as_outputs(result):
    """An op's result as a tuple of outputs (split returns several)."""
    return tuple(result) if isinstance(result, (tuple, list)) else (result,)


def upstream_grads(outputs, seed=1):
    """A random d(loss)/d(output) per output (float64 NumPy arrays)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(tuple(o.shape)) for o in outputs]


def run_minigrad(fn, arrays, dtype, device, seed=1):
    """Forward and backward of ``fn`` in minigrad on inputs of ``dtype`` made from ``arrays``,
    with the upstream gradients of :func:`upstream_grads`: (outputs, inputs), whose ``.grad``
    now holds the gradients."""
    inputs = [mg.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]
    outputs = as_outputs(fn(*inputs))
    for out, grad in zip(outputs, upstream_grads(outputs, seed)):
        out.backward(mg.tensor(grad, dtype=out.dtype, device=device), retain_graph=True)
    return outputs, inputs


def unbroadcast_reference(full, shape):
    """Sum ``full`` (of a broadcast shape) down to ``shape``: each element of an input of
    ``shape`` gets the sum over every output position that read it.

    Written differently from minigrad's ``sum_to`` (by labelling each input element and
    summing with bincount), so that the tests do not check the helper against itself.
    """
    shape = tuple(shape)
    size = int(np.prod(shape))
    labels = np.broadcast_to(np.arange(size).reshape(shape), full.shape)
    return np.bincount(labels.ravel(), weights=np.asarray(full, dtype=np.float64).ravel(),
                       minlength=size).reshape(shape)
