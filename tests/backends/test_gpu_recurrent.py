"""cuda_kernels/recurrent.cu against the CPU backend's Numba kernels: each step kernel on random
rows with some masked out, and whole LSTM/GRU (both variants)/RNN ops (masks, reverse) forward
and backward.
Results agree to rounding: the CPU's float32 tanh is a rational approximation, the GPU's is
tanhf. Run emulated on the CPU (g++) and on a GPU when there is one (see conftest.py)."""

import numpy as np
import pytest

from minigrad.autograd.tensor import Tensor
from minigrad.backends import get_backend

from ..functional.test_recurrent import HOLES, PRE_PADDED, make_arrays, run_op

cpu = get_backend("cpu")
TOLERANCES = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}
SHAPES = [(5, 7), (37, 19)]  # (rows, units): one thread block, several


def _arrays(rng, dtype, n, width, count):
    return [(rng.standard_normal((n, width)) * 1.5).astype(dtype) for _ in range(count)]


def _mask(rng, n):
    mask = rng.random(n) < 0.7
    mask[0], mask[-1] = True, False
    return mask


def _run_both(gpu, method, args):
    """Call ``method`` on copies of the arrays among ``args`` on the CPU and on ``gpu``; both
    sets of arrays after the call (the kernels update them in place), as NumPy."""
    cpu_args = [a.copy() if isinstance(a, np.ndarray) else a for a in args]
    gpu_args = [gpu.asarray(a.copy()) if isinstance(a, np.ndarray) else a for a in args]
    getattr(cpu, method)(*cpu_args)
    getattr(gpu, method)(*gpu_args)
    return ([a for a in cpu_args if isinstance(a, np.ndarray)],
            [gpu.to_numpy(a) for a in gpu_args if not isinstance(a, bool)])


def _assert_same(expected, got, dtype):
    for want, have in zip(expected, got):
        assert have.dtype == want.dtype
        np.testing.assert_allclose(have, want, **TOLERANCES[dtype])


def _suffix(dtype):
    return "f32" if dtype == np.float32 else "f64"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, units", SHAPES)
def test_lstm_step_kernels_match_the_cpu(gpu, n, units, dtype):
    rng = np.random.default_rng(0)
    gates, hu = _arrays(rng, dtype, n, 4 * units, 2)
    h_prev, c_prev, h, c = _arrays(rng, dtype, n, units, 4)
    mask = _mask(rng, n)
    expected, got = _run_both(gpu, "lstm_step_forward", [gates, hu, h_prev, c_prev, mask, h, c])
    _assert_same(expected, got, dtype)

    # backward from the forward's saved activations
    gates, c_new = expected[0], expected[6]
    d_out, dh, dc = _arrays(rng, dtype, n, units, 3)
    expected, got = _run_both(gpu, "lstm_step_backward",
                              [gates, c_new, c_prev, d_out, dh, dc, mask])
    _assert_same(expected, got, dtype)
    assert gpu.launched == [f"lstm_step_forward_{_suffix(dtype)}",
                            f"lstm_step_backward_{_suffix(dtype)}"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, units", SHAPES)
def test_gru_step_kernels_match_the_cpu(gpu, n, units, dtype):
    rng = np.random.default_rng(1)
    gates, hu = _arrays(rng, dtype, n, 3 * units, 2)
    recurrent_bias = rng.standard_normal(3 * units).astype(dtype)
    h_prev, rh, h = _arrays(rng, dtype, n, units, 3)
    mask = _mask(rng, n)
    expected, got = _run_both(gpu, "gru_step_forward",
                              [gates, hu, recurrent_bias, h_prev, mask, rh, h])
    _assert_same(expected, got, dtype)

    gates, rh = expected[0], expected[5]
    d_out, dh = _arrays(rng, dtype, n, units, 2)
    d_recurrent = np.full((n, 3 * units), np.nan, dtype=dtype)  # written everywhere
    expected, got = _run_both(gpu, "gru_step_backward",
                              [gates, rh, h_prev, d_out, dh, mask, d_recurrent])
    _assert_same(expected, got, dtype)
    assert gpu.launched == [f"gru_step_forward_{_suffix(dtype)}",
                            f"gru_step_backward_{_suffix(dtype)}"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, units", SHAPES)
def test_gru_reset_before_step_kernels_match_the_cpu(gpu, n, units, dtype):
    """The four kernels of a GRU(reset_after=False) step, in the order the op calls them, each
    on the arrays the CPU's previous kernel left (the products between them are the caller's)."""
    rng = np.random.default_rng(3)
    (gates,) = _arrays(rng, dtype, n, 3 * units, 1)
    (hu_zr,) = _arrays(rng, dtype, n, 2 * units, 1)
    h_prev, hu_h, d_out, dh, d_rh = _arrays(rng, dtype, n, units, 5)
    rh, h = (np.full((n, units), np.nan, dtype=dtype) for _ in range(2))  # written everywhere
    mask = _mask(rng, n)
    expected, got = _run_both(gpu, "gru_reset_before_gates_forward",
                              [gates, hu_zr, h_prev, mask, rh])
    _assert_same(expected[-1:], got[-1:], dtype)  # rh
    keep = mask[:, None]  # in skipped rows the gates are unspecified
    _assert_same([np.where(keep, expected[0], 0)], [np.where(keep, got[0], 0)], dtype)
    gates = expected[0]
    expected, got = _run_both(gpu, "gru_reset_before_candidate_forward",
                              [gates, hu_h, h_prev, mask, h])
    _assert_same(expected[-1:], got[-1:], dtype)  # h
    _assert_same([np.where(keep, expected[0], 0)], [np.where(keep, got[0], 0)], dtype)
    gates = np.where(keep, expected[0], 0.5).astype(dtype)
    expected, got = _run_both(gpu, "gru_reset_before_candidate_backward",
                              [gates, h_prev, d_out, dh, mask])
    _assert_same(expected, got, dtype)
    gates = expected[0]
    expected, got = _run_both(gpu, "gru_reset_before_gates_backward",
                              [gates, d_rh, h_prev, expected[3], mask])
    _assert_same(expected, got, dtype)
    suffix = _suffix(dtype)
    assert gpu.launched == [f"gru_reset_before_{name}_{suffix}" for name in (
        "gates_forward", "candidate_forward", "candidate_backward", "gates_backward")]


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, units", SHAPES)
def test_rnn_step_kernels_match_the_cpu(gpu, n, units, dtype, relu):
    rng = np.random.default_rng(2)
    gates, hu, h_prev, h = _arrays(rng, dtype, n, units, 4)
    mask = _mask(rng, n)
    expected, got = _run_both(gpu, "rnn_step_forward", [gates, hu, h_prev, mask, relu, h])
    _assert_same(expected, got, dtype)

    h = expected[4]
    d_out, dh, d_gates = _arrays(rng, dtype, n, units, 3)
    expected, got = _run_both(gpu, "rnn_step_backward", [h, d_out, dh, mask, relu, d_gates])
    _assert_same(expected, got, dtype)
    assert gpu.launched == [f"rnn_step_forward_{_suffix(dtype)}",
                            f"rnn_step_backward_{_suffix(dtype)}"]


CASES = {"plain": dict(), "pre_padded_reverse": dict(mask=PRE_PADDED, reverse=True),
         "holes_zero_output": dict(mask=HOLES, zero_output_for_mask=True)}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn_tanh", "rnn_relu", "gru_rb"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_whole_recurrent_ops_on_the_kernels_match_the_cpu(gpu, kind, case, dtype):
    x, weights, states = make_arrays(kind)
    results = []
    for backend in (cpu, gpu):
        tensors = [Tensor._make(backend.asarray(np.asarray(a, dtype=dtype)), backend, True)
                   for a in [x, *weights, *states]]
        options = dict(CASES[case])
        if "mask" in options:
            options["mask"] = Tensor._make(backend.asarray(options["mask"]), backend, False)
        outputs = run_op(kind, tensors[0], tensors[1:4], tensors[4:], **options)
        sum((o * float(i + 1)).sum() for i, o in enumerate(outputs)).backward()
        results.append([backend.to_numpy(t.data) for t in outputs]
                       + [backend.to_numpy(t.grad.data) for t in tensors])
    tolerance = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else TOLERANCES[dtype]
    for want, got in zip(*results):
        assert got.dtype == want.dtype
        np.testing.assert_allclose(got, want, **tolerance)
    if kind == "gru_rb":
        kernels = [f"gru_reset_before_{part}" for part in (
            "gates_forward", "candidate_forward", "candidate_backward", "gates_backward")]
    else:
        step = {"lstm": "lstm_step", "gru": "gru_step"}.get(kind, "rnn_step")
        kernels = [f"{step}_forward", f"{step}_backward"]
    for kernel in kernels:
        assert f"{kernel}_{_suffix(dtype)}" in gpu.launched
