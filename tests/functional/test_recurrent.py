"""The recurrent ops lstm, gru and simple_rnn: finite differences, PyTorch's nn.LSTM/GRU/RNN with
the same weights (masked steps compared with PyTorch run on the real steps only), dtypes, the
CUDA backend's formulation run on NumPy, and the error messages. ``gru(reset_after=False)``
("gru_rb"), which PyTorch lacks, is checked against finite differences and a step-by-step NumPy
reference here, and against Keras 3 in tests/nn/test_recurrent_keras.py."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

import minigrad as mg
from minigrad.autograd.tensor import Tensor
from minigrad.backends.cpu import CPUBackend
from minigrad.backends.cuda import CUDABackend

from ._specs import NO_TORCH, hypothesis_settings

KINDS = ["lstm", "gru", "rnn_tanh", "rnn_relu"]  # the ops PyTorch has
ALL_KINDS = KINDS + ["gru_rb"]  # and Keras's GRU(reset_after=False)
GATES = {"lstm": 4, "gru": 3, "gru_rb": 3, "rnn_tanh": 1, "rnn_relu": 1}
TOLERANCES = {"float32": dict(rtol=2e-4, atol=2e-5), "float64": dict(rtol=1e-9, atol=1e-11)}

# Masks of 4 rows over 6 steps: pre-padded (IMDB-style), post-padded, holes, an empty row.
PRE_PADDED = np.array([[0, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1],
                       [0, 1, 1, 1, 1, 1]], dtype=bool)
HOLES = np.array([[1, 0, 1, 1, 0, 1], [1, 1, 1, 1, 0, 0], [0, 0, 0, 0, 0, 0],
                  [0, 1, 0, 1, 0, 1]], dtype=bool)


def run_op(kind, x, weights, states, **options):
    """The op of ``kind`` on tensors: (outputs, *final states)."""
    kernel, recurrent_kernel, bias = weights
    if kind == "lstm":
        return mg.lstm(x, kernel, recurrent_kernel, bias, *states, **options)
    if kind == "gru":
        return mg.gru(x, kernel, recurrent_kernel, bias, *states, **options)
    if kind == "gru_rb":
        return mg.gru(x, kernel, recurrent_kernel, bias, *states, reset_after=False, **options)
    return mg.simple_rnn(x, kernel, recurrent_kernel, bias, *states,
                         activation=kind.split("_")[1], **options)


def make_arrays(kind, n=4, t=6, features=3, units=5, seed=0):
    """Inputs, (kernel, recurrent_kernel, bias) and initial states as float64 arrays."""
    rng = np.random.default_rng(seed)
    gates = GATES[kind]
    x = rng.standard_normal((n, t, features))
    weights = [rng.standard_normal((features, gates * units)) * 0.6,
               rng.standard_normal((units, gates * units)) * 0.6,
               rng.standard_normal((2, 3 * units) if kind == "gru" else (gates * units,)) * 0.5]
    states = [rng.standard_normal((n, units)) * 0.5 for _ in range(2 if kind == "lstm" else 1)]
    return x, weights, states


# --- finite differences ----------------------------------------------------------------------

GRADCHECK_CASES = {
    "plain": dict(),
    "reverse": dict(reverse=True),
    "masked": dict(mask=PRE_PADDED[:2, 1:5]),
    "masked_reverse_zero_output": dict(mask=HOLES[[0, 3], 1:5], reverse=True,
                                       zero_output_for_mask=True),
    "holes_carry": dict(mask=HOLES[[0, 3], 1:5]),
}


@pytest.mark.parametrize("case", GRADCHECK_CASES)
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_backward_through_time_matches_finite_differences(kind, case, device):
    x, weights, states = make_arrays(kind, n=2, t=4, features=3, units=2)
    tensors = [mg.tensor(a, dtype="float64", device=device, requires_grad=True)
               for a in [x, *weights, *states]]
    options = GRADCHECK_CASES[case]

    def fn(x, kernel, recurrent_kernel, bias, *states):
        return run_op(kind, x, (kernel, recurrent_kernel, bias), states, **options)

    assert mg.testing.gradcheck(fn, *tensors)


# --- against PyTorch ---------------------------------------------------------------------------

torch_cases = {
    "plain": dict(),
    "reverse": dict(reverse=True),
    "pre_padded": dict(mask=PRE_PADDED),
    "pre_padded_reverse": dict(mask=PRE_PADDED, reverse=True),
    "holes_zero_output": dict(mask=HOLES, zero_output_for_mask=True),
    "holes_reverse_carry": dict(mask=HOLES, reverse=True),
}


def torch_module(torch, kind, weights, dtype):
    """nn.LSTM/GRU/RNN holding the Keras-layout ``weights`` (arrays)."""
    kernel, recurrent_kernel, bias = weights
    features, units = kernel.shape[0], recurrent_kernel.shape[0]
    if kind == "lstm":
        module = torch.nn.LSTM(features, units, batch_first=True)
    elif kind == "gru":
        module = torch.nn.GRU(features, units, batch_first=True)
    else:
        module = torch.nn.RNN(features, units, batch_first=True, nonlinearity=kind.split("_")[1])
    module = module.to(dtype)
    if kind == "gru":  # Keras's gates z, r, h are PyTorch's z, r, n in the order r, z, n
        order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]
        kernel, recurrent_kernel = kernel[:, order], recurrent_kernel[:, order]
        bias_ih, bias_hh = bias[0][order], bias[1][order]
    else:
        bias_ih, bias_hh = bias, np.zeros_like(bias)
    with torch.no_grad():
        for name, value in [("weight_ih_l0", kernel.T), ("weight_hh_l0", recurrent_kernel.T),
                            ("bias_ih_l0", bias_ih), ("bias_hh_l0", bias_hh)]:
            getattr(module, name).copy_(torch.tensor(value))
    return module


def torch_weight_grads(kind, module, units):
    """PyTorch's weight gradients in Keras's layout."""
    grads = [module.weight_ih_l0.grad.numpy().T, module.weight_hh_l0.grad.numpy().T]
    bias_ih, bias_hh = module.bias_ih_l0.grad.numpy(), module.bias_hh_l0.grad.numpy()
    if kind == "gru":
        order = np.r_[units:2 * units, 0:units, 2 * units:3 * units]  # its own inverse
        return [g[:, order] for g in grads] + [np.stack([bias_ih[order], bias_hh[order]])]
    return grads + [bias_ih]


def torch_reference(torch, kind, x, weights, states, upstream, dtype, mask=None, reverse=False,
                    zero_output_for_mask=False):
    """Keras's masked-RNN semantics built from PyTorch: each row is run on its real steps only
    (in reverse for ``reverse``); a skipped step outputs 0 or the last real output. Returns the
    outputs, the final states and the gradients of everything, as NumPy arrays."""
    n, t, _ = x.shape
    units = weights[1].shape[0]
    module = torch_module(torch, kind, weights, dtype)
    x_t = torch.tensor(x, dtype=dtype, requires_grad=True)
    states_t = [torch.tensor(s, dtype=dtype, requires_grad=True) for s in states]
    mask = np.ones((n, t), dtype=bool) if mask is None else mask
    rows, finals = [], []
    for i in range(n):
        real = np.flatnonzero(mask[i])
        order = real[::-1] if reverse else real
        initial = tuple(s[i][None, None] for s in states_t)
        if len(order):
            out, final = module(x_t[i][torch.as_tensor(order.copy())][None],
                                initial if kind == "lstm" else initial[0])
            final = final if kind == "lstm" else (final,)
            by_step = dict(zip(order.tolist(), out[0]))
            finals.append([f[0, 0] for f in final])
        else:
            by_step = {}
            finals.append([s[i] for s in states_t])
        zero = x_t.new_zeros(units)
        row, last = [], zero
        for q in (range(t - 1, -1, -1) if reverse else range(t)):
            if q in by_step:
                last = by_step[q]
                row.append((q, last))
            else:
                row.append((q, zero if zero_output_for_mask else last))
        rows.append(torch.stack([value for _, value in sorted(row, key=lambda p: p[0])]))
    outputs = [torch.stack(rows)] + [torch.stack([f[k] for f in finals])
                                     for k in range(len(states))]
    loss = sum((o * torch.tensor(g, dtype=dtype)).sum() for o, g in zip(outputs, upstream))
    loss.backward()
    grads = [x_t.grad.numpy()] + torch_weight_grads(kind, module, units) + [
        s.grad.numpy() for s in states_t]
    return [o.detach().numpy() for o in outputs], grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", torch_cases)
@pytest.mark.parametrize("kind", KINDS)
def test_forward_and_backward_match_torch(kind, case, dtype, device):
    torch = pytest.importorskip("torch", reason=NO_TORCH)
    x, weights, states = make_arrays(kind)
    options = torch_cases[case]
    tensors = [mg.tensor(a, dtype=dtype, device=device, requires_grad=True)
               for a in [x, *weights, *states]]
    outputs = run_op(kind, tensors[0], tensors[1:4], tensors[4:], **options)
    rng = np.random.default_rng(1)
    upstream = [rng.standard_normal(o.shape) for o in outputs]
    sum((o * mg.tensor(g, dtype=dtype, device=device)).sum()
        for o, g in zip(outputs, upstream)).backward()

    expected, expected_grads = torch_reference(torch, kind, x, weights, states, upstream,
                                               getattr(torch, dtype), **options)
    for i, (out, want) in enumerate(zip(outputs, expected)):
        assert out.dtype.name == dtype
        np.testing.assert_allclose(out.numpy(), want, err_msg=f"output {i}", **TOLERANCES[dtype])
    names = ["x", "kernel", "recurrent_kernel", "bias", "h0", "c0"]
    for name, tensor, want in zip(names, tensors, expected_grads):
        assert tensor.grad.dtype.name == dtype and tensor.grad.shape == tensor.shape
        np.testing.assert_allclose(tensor.grad.numpy(), want, err_msg=f"gradient of {name}",
                                   **TOLERANCES[dtype])


def test_masked_rows_keep_their_state_and_pre_padding_changes_nothing():
    """A pre-padded row ends in the same state as the same row without the padding."""
    x, weights, states = make_arrays("lstm", n=1, t=4)
    w = [mg.tensor(a) for a in weights]
    padded = np.concatenate([np.zeros((1, 3, 3)), x], axis=1)
    mask = np.array([[0, 0, 0, 1, 1, 1, 1]], dtype=bool)
    out, h, c = mg.lstm(mg.tensor(padded), *w, mask=mask)
    _, h_ref, c_ref = mg.lstm(mg.tensor(x), *w)
    np.testing.assert_allclose(h.numpy(), h_ref.numpy(), rtol=1e-6)
    np.testing.assert_allclose(c.numpy(), c_ref.numpy(), rtol=1e-6)
    assert not out.numpy()[0, :3].any()  # outputs before the first real step are 0


@pytest.mark.parametrize("case", ["plain", "pre_padded_reverse", "holes_zero_output"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_return_sequences_false_gives_the_last_output(kind, case):
    """The last output in processing order (outputs[:, -1], or [:, 0] in reverse), without
    making the sequence; its gradient is the sequence's with zeros elsewhere."""
    x, weights, states = make_arrays(kind, n=4, t=6)
    options = torch_cases[case]
    results = []
    for return_sequences in (True, False):
        tensors = [mg.tensor(a, requires_grad=True) for a in [x, *weights, *states]]
        outputs = run_op(kind, tensors[0], tensors[1:4], tensors[4:],
                         return_sequences=return_sequences, **options)
        first = outputs[0]
        if return_sequences:
            first = first[:, 0] if options.get("reverse") else first[:, -1]
        assert first.shape == (4, 5)
        (first * 2.0).sum().backward()
        results.append([first.numpy()] + [t.grad.numpy() for t in tensors])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("return_sequences", [True, False])
@pytest.mark.parametrize("case", ["plain", "pre_padded_reverse", "holes_zero_output"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_inference_without_graph_gives_the_same_results(kind, case, return_sequences):
    """Under no_grad the ops keep no per-step buffers and project the inputs 32 steps at a
    time; 70 steps cross two chunk boundaries and end in a partial chunk."""
    x, weights, states = make_arrays(kind, n=4, t=70)
    options = dict(torch_cases[case])
    if "mask" in options:
        options["mask"] = np.tile(options["mask"], (1, 12))[:, :70]
    tensors = [mg.tensor(a, requires_grad=True) for a in [x, *weights, *states]]
    with_graph = run_op(kind, tensors[0], tensors[1:4], tensors[4:],
                        return_sequences=return_sequences, **options)
    with mg.no_grad():
        without = run_op(kind, tensors[0], tensors[1:4], tensors[4:],
                         return_sequences=return_sequences, **options)
    assert not without[0].requires_grad
    for a, b in zip(with_graph, without):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-7)


# --- any shape, against a step-by-step NumPy reference ------------------------------------------

def numpy_reference(kind, x, weights, states, mask=None, reverse=False,
                    zero_output_for_mask=False):
    """Keras's RNN loop written plainly: outputs and final states, float64."""
    kernel, recurrent_kernel, bias = weights
    n, t, _ = x.shape
    units = recurrent_kernel.shape[0]
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    h, c = states[0].copy(), (states[1].copy() if kind == "lstm" else None)
    outputs, last = np.zeros((n, t, units)), np.zeros((n, units))
    for step in (range(t - 1, -1, -1) if reverse else range(t)):
        real = np.ones((n, 1), bool) if mask is None else mask[:, step][:, None]
        if kind == "lstm":
            a = x[:, step] @ kernel + h @ recurrent_kernel + bias
            i, f, g, o = sigmoid(a[:, :units]), sigmoid(a[:, units:2 * units]), \
                np.tanh(a[:, 2 * units:3 * units]), sigmoid(a[:, 3 * units:])
            c_new = f * c + i * g
            h_new = o * np.tanh(c_new)
            c = np.where(real, c_new, c)
        elif kind == "gru":
            xw, hu = x[:, step] @ kernel + bias[0], h @ recurrent_kernel + bias[1]
            z = sigmoid(xw[:, :units] + hu[:, :units])
            r = sigmoid(xw[:, units:2 * units] + hu[:, units:2 * units])
            h_new = z * h + (1 - z) * np.tanh(xw[:, 2 * units:] + r * hu[:, 2 * units:])
        elif kind == "gru_rb":  # Keras's reset_after=False: r applied before the product
            xw, hu = x[:, step] @ kernel + bias, h @ recurrent_kernel[:, :2 * units]
            z = sigmoid(xw[:, :units] + hu[:, :units])
            r = sigmoid(xw[:, units:2 * units] + hu[:, units:])
            h_new = z * h + (1 - z) * np.tanh(xw[:, 2 * units:]
                                               + (r * h) @ recurrent_kernel[:, 2 * units:])
        else:
            a = x[:, step] @ kernel + h @ recurrent_kernel + bias
            h_new = np.tanh(a) if kind == "rnn_tanh" else np.maximum(a, 0)
        h = np.where(real, h_new, h)
        outputs[:, step] = np.where(real, h_new, 0 if zero_output_for_mask else last)
        last = np.where(real, h_new, last)
    return [outputs, h] + ([c] if kind == "lstm" else [])


@hypothesis_settings(max_examples=60)
@given(kind=st.sampled_from(ALL_KINDS), n=st.integers(1, 3), t=st.integers(1, 5),
       features=st.integers(1, 3), units=st.integers(1, 3), masked=st.booleans(),
       reverse=st.booleans(), zero_output=st.booleans(), seed=st.integers(0, 2 ** 16))
def test_any_shape_matches_the_step_by_step_reference(kind, n, t, features, units, masked,
                                                      reverse, zero_output, seed):
    x, weights, states = make_arrays(kind, n, t, features, units, seed)
    mask = np.random.default_rng(seed).random((n, t)) < 0.6 if masked else None
    options = dict(mask=mask, reverse=reverse, zero_output_for_mask=zero_output)
    tensors = [mg.tensor(a, dtype="float64", requires_grad=True)
               for a in [x, *weights, *states]]
    outputs = run_op(kind, tensors[0], tensors[1:4], tensors[4:], **options)
    for got, want in zip(outputs, numpy_reference(kind, x, weights, states, **options)):
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)
    sum(o.sum() for o in outputs).backward()
    for tensor in tensors:
        assert tensor.grad.shape == tensor.shape and np.isfinite(tensor.grad.numpy()).all()


# --- dtypes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
@pytest.mark.parametrize("kind", ALL_KINDS)
def test_outputs_and_gradients_keep_the_dtype(kind, dtype, device):
    x, weights, states = make_arrays(kind, n=2, t=3)
    tensors = [mg.tensor(a, dtype=dtype, device=device, requires_grad=True)
               for a in [x, *weights, *states]]
    outputs = run_op(kind, tensors[0], tensors[1:4], tensors[4:], mask=PRE_PADDED[:2, 3:])
    sum(o.sum() for o in outputs).backward()
    assert [o.dtype.name for o in outputs] == [dtype] * len(outputs)
    assert [t.grad.dtype.name for t in tensors] == [dtype] * len(tensors)
    assert all(np.isfinite(t.grad.numpy()).all() for t in tensors)


def test_float16_is_computed_in_float32():
    x, weights, states = make_arrays("lstm", n=2, t=3)
    half = run_op("lstm", mg.tensor(x, dtype="float16"),
                  [mg.tensor(w, dtype="float16") for w in weights],
                  [mg.tensor(s, dtype="float16") for s in states])
    single = run_op("lstm", mg.tensor(x.astype(np.float16), dtype="float32"),
                    [mg.tensor(w.astype(np.float16), dtype="float32") for w in weights],
                    [mg.tensor(s.astype(np.float16), dtype="float32") for s in states])
    for a, b in zip(half, single):
        np.testing.assert_array_equal(a.numpy(), b.numpy().astype(np.float16))


# --- the CUDA backend's formulation, run with NumPy standing in for CuPy ------------------------

class _CudaFormulationOnNumPy(CPUBackend):
    """The CPU backend with its recurrent step kernels replaced by the CUDA backend's (which are
    written against ``self.xp`` and so run on NumPy)."""


for _name in ("lstm_step_forward", "lstm_step_backward", "gru_step_forward", "gru_step_backward",
              "gru_reset_before_gates_forward", "gru_reset_before_candidate_forward",
              "gru_reset_before_candidate_backward", "gru_reset_before_gates_backward",
              "rnn_step_forward", "rnn_step_backward"):
    setattr(_CudaFormulationOnNumPy, _name, getattr(CUDABackend, _name))


@pytest.mark.parametrize("case", ["plain", "pre_padded_reverse", "holes_zero_output"])
@pytest.mark.parametrize("kind", ALL_KINDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_step_formulation_matches_the_numba_kernels(kind, case, dtype):
    x, weights, states = make_arrays(kind)
    results = []
    for backend in (mg.backends.get_backend("cpu"), _CudaFormulationOnNumPy()):
        tensors = [Tensor._make(np.asarray(a, dtype=dtype), backend, True)
                   for a in [x, *weights, *states]]
        outputs = run_op(kind, tensors[0], tensors[1:4], tensors[4:], **torch_cases[case])
        sum((o * float(i + 1)).sum() for i, o in enumerate(outputs)).backward()
        results.append([o.numpy() for o in outputs] + [t.grad.numpy() for t in tensors])
    for got, want in zip(*results):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **TOLERANCES[dtype])


# --- errors ------------------------------------------------------------------------------------

def test_input_of_the_wrong_rank_is_named():
    with pytest.raises(ValueError, match=r"lstm expected input of shape \(N, T, features\), got "
                                         r"\(4, 3\)"):
        mg.lstm(mg.zeros(4, 3), mg.zeros(3, 8), mg.zeros(2, 8))


def test_kernel_that_does_not_fit_the_features_is_named():
    with pytest.raises(ValueError, match=r"gru: kernel must have shape \(features, 3 \* units\) "
                                         r"= \(3, 6\) for input of shape \(2, 5, 3\) and 2 "
                                         r"units, got \(4, 6\)"):
        mg.gru(mg.zeros(2, 5, 3), mg.zeros(4, 6), mg.zeros(2, 6))


def test_recurrent_kernel_of_the_wrong_shape_is_named():
    with pytest.raises(ValueError, match=r"lstm: recurrent_kernel must have shape \(units, "
                                         r"4 \* units\), got \(2, 6\)"):
        mg.lstm(mg.zeros(2, 5, 3), mg.zeros(3, 8), mg.zeros(2, 6))


def test_bias_state_and_mask_shapes_are_checked():
    x, kernel, rec = mg.zeros(2, 5, 3), mg.zeros(3, 6), mg.zeros(2, 6)
    with pytest.raises(ValueError, match=r"gru: bias must have shape \(2, 6\), got \(6,\)"):
        mg.gru(x, kernel, rec, mg.zeros(6))
    with pytest.raises(ValueError, match=r"gru\(reset_after=False\): bias must have shape "
                                         r"\(6,\), got \(2, 6\)"):
        mg.gru(x, kernel, rec, mg.zeros(2, 6), reset_after=False)
    with pytest.raises(ValueError, match=r"initial state .* shape \(N, units\) = \(2, 2\), "
                                         r"got \(3, 2\)"):
        mg.gru(x, kernel, rec, h0=mg.zeros(3, 2))
    with pytest.raises(ValueError, match=r"mask must have shape \(N, T\) = \(2, 5\), got "
                                         r"\(5, 2\)"):
        mg.gru(x, kernel, rec, mask=np.ones((5, 2)))


def test_integer_inputs_point_to_the_embedding():
    with pytest.raises(TypeError, match="floating-point input, got dtype int64.*Embedding"):
        mg.simple_rnn(mg.tensor(np.zeros((2, 5, 3), dtype=np.int64)), mg.zeros(3, 2),
                      mg.zeros(2, 2))


def test_unknown_simple_rnn_activation():
    with pytest.raises(ValueError, match="'tanh' or 'relu', got 'sigmoid'"):
        mg.simple_rnn(mg.zeros(2, 5, 3), mg.zeros(3, 2), mg.zeros(2, 2), activation="sigmoid")
