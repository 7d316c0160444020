"""Grades exercises/lstm_cell.py:  pytest exercises/test_lstm_cell.py"""

import numpy as np
import pytest

import minigrad as mg

GRAD_NAMES = ("d_x", "d_h0", "d_c0", "d_kernel", "d_recurrent_kernel", "d_bias")


def make_case(n, t, features, units, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return dict(x=rng.normal(size=(n, t, features)).astype(dtype),
                h0=rng.normal(size=(n, units)).astype(dtype) * 0.5,
                c0=rng.normal(size=(n, units)).astype(dtype) * 0.5,
                kernel=rng.normal(size=(features, 4 * units)).astype(dtype) * 0.5,
                recurrent_kernel=rng.normal(size=(units, 4 * units)).astype(dtype) * 0.5,
                bias=rng.normal(size=4 * units).astype(dtype) * 0.5)


def minigrads_lstm(case, d_outputs=None):
    """Outputs of nn.LSTM(return_sequences=True) with the case's weights and initial state, and
    with d_outputs the gradients (autograd through the layer), named as GRAD_NAMES."""
    units = case["h0"].shape[1]
    dtype = case["x"].dtype.name
    layer = mg.nn.LSTM(units, return_sequences=True, dtype=dtype)
    layer.build((None,) + case["x"].shape[1:])
    layer.set_weights([case["kernel"], case["recurrent_kernel"], case["bias"]])
    x, h0, c0 = (mg.tensor(case[k], requires_grad=True) for k in ("x", "h0", "c0"))
    outputs = layer(x, initial_state=[h0, c0])
    if d_outputs is None:
        return outputs.numpy(), None
    outputs.backward(mg.tensor(d_outputs))
    grads = (x.grad, h0.grad, c0.grad, layer.kernel.grad, layer.recurrent_kernel.grad,
             layer.bias.grad)
    return outputs.numpy(), dict(zip(GRAD_NAMES, (g.numpy() for g in grads)))


def forward(solution, case):
    result = solution.lstm_forward(case["x"], case["h0"], case["c0"], case["kernel"],
                                   case["recurrent_kernel"], case["bias"])
    assert isinstance(result, tuple) and len(result) == 2, (
        "lstm_forward should return (outputs, cache)")
    return result


def backward(solution, d_outputs, cache):
    grads = solution.lstm_backward(d_outputs, cache)
    assert len(grads) == 6, ("lstm_backward should return (d_x, d_h0, d_c0, d_kernel, "
                             f"d_recurrent_kernel, d_bias), got {len(grads)} values")
    return dict(zip(GRAD_NAMES, grads))


def test_one_step_with_zero_weights_uses_the_gates_in_the_order_i_f_c_o(solution):
    # kernel = recurrent_kernel = 0: z = bias, so each gate is a known constant.
    units = 2
    b_i, b_f, b_g, b_o = 1.5, -1.0, 0.7, -0.3
    bias = np.repeat([b_i, b_f, b_g, b_o], units)
    c = np.array([[0.5, -2.0]])
    h_new, c_new = solution.lstm_step(np.ones((1, 3)), np.ones((1, units)), c,
                                      np.zeros((3, 4 * units)), np.zeros((units, 4 * units)),
                                      bias)
    s = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    expected_c = s(b_f) * c + s(b_i) * np.tanh(b_g)
    expected_h = s(b_o) * np.tanh(expected_c)
    assert np.shape(c_new) == (1, units) and np.shape(h_new) == (1, units), (
        f"lstm_step should return h_new and c_new of shape (N, U) = (1, {units}), got "
        f"{np.shape(h_new)} and {np.shape(c_new)}")
    assert np.allclose(c_new, expected_c, rtol=1e-10) and np.allclose(h_new, expected_h,
                                                                       rtol=1e-10), (
        f"with kernel = recurrent_kernel = 0 and bias = [i: {b_i}, f: {b_f}, c: {b_g}, "
        f"o: {b_o}] (each repeated for the {units} units), c = {c.tolist()}: expected c_new "
        f"{expected_c.tolist()} and h_new {expected_h.tolist()}, got {np.asarray(c_new).tolist()}"
        f" and {np.asarray(h_new).tolist()} -- are the gates in Keras's order i, f, c, o "
        "(input, forget, candidate, output), with tanh for the candidate only?")


def test_one_step_matches_minigrad(solution):
    case = make_case(3, 1, 4, 5, seed=1)
    h_new, c_new = solution.lstm_step(case["x"][:, 0], case["h0"], case["c0"], case["kernel"],
                                      case["recurrent_kernel"], case["bias"])
    _, h, c = mg.functional.lstm(*(mg.tensor(case[k]) for k in ("x", "kernel",
                                                                 "recurrent_kernel", "bias",
                                                                 "h0", "c0")))
    np.testing.assert_allclose(c_new, c.numpy(), rtol=1e-10, atol=1e-12,
                               err_msg="lstm_step: c_new differs from minigrad's LSTM")
    np.testing.assert_allclose(h_new, h.numpy(), rtol=1e-10, atol=1e-12,
                               err_msg="lstm_step: h_new differs from minigrad's LSTM")


@pytest.mark.parametrize("n, t, features, units", [(2, 5, 3, 4), (4, 7, 6, 3), (1, 1, 2, 2)])
def test_forward_matches_nn_lstm(solution, n, t, features, units):
    case = make_case(n, t, features, units, seed=2)
    outputs, _ = forward(solution, case)
    expected, _ = minigrads_lstm(case)
    assert np.shape(outputs) == (n, t, units), (
        f"outputs should have shape (N, T, U) = {(n, t, units)}, got {np.shape(outputs)}")
    for step in range(t):
        np.testing.assert_allclose(outputs[:, step], expected[:, step], rtol=1e-10, atol=1e-12,
                                   err_msg=f"outputs[:, {step}] (the state h after step "
                                   f"{step}) differs from minigrad's nn.LSTM")


@pytest.mark.parametrize("n, t, features, units", [(2, 5, 3, 4), (3, 6, 2, 3)])
def test_backward_matches_minigrads_autograd(solution, n, t, features, units):
    case = make_case(n, t, features, units, seed=3)
    d_outputs = np.random.default_rng(4).normal(size=(n, t, units))
    _, expected = minigrads_lstm(case, d_outputs)
    _, cache = forward(solution, case)
    got = backward(solution, d_outputs, cache)
    for name in GRAD_NAMES:
        assert np.shape(got[name]) == expected[name].shape, (
            f"{name} should have shape {expected[name].shape}, got {np.shape(got[name])}")
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-8, atol=1e-10,
                                   err_msg=f"{name} differs from minigrad's LSTM backward")


def test_the_gradient_flows_back_through_time(solution):
    # Only the last output has a gradient: every earlier step gets its gradient through the
    # states h and c carried back from the steps after it.
    n, t, units = 2, 6, 3
    case = make_case(n, t, 2, units, seed=5)
    d_outputs = np.zeros((n, t, units))
    d_outputs[:, -1] = np.random.default_rng(6).normal(size=(n, units))
    _, expected = minigrads_lstm(case, d_outputs)
    _, cache = forward(solution, case)
    got = backward(solution, d_outputs, cache)
    for step in reversed(range(t)):
        np.testing.assert_allclose(
            np.asarray(got["d_x"])[:, step], expected["d_x"][:, step], rtol=1e-8, atol=1e-10,
            err_msg=f"d_x[:, {step}] with a gradient on the last output only (step {t - 1}): "
            f"step {step} is reached through dh_next and dc_next carried back from step "
            f"{step + 1}")


class StudentLSTM(mg.autograd.Function):
    """The student's forward and backward as one op, so that gradcheck can test them."""

    @staticmethod
    def forward(ctx, x, h0, c0, kernel, recurrent_kernel, bias, solution=None):
        outputs, ctx.cache = solution.lstm_forward(x, h0, c0, kernel, recurrent_kernel, bias)
        ctx.solution = solution
        return np.asarray(outputs)

    @staticmethod
    def backward(ctx, grad):
        return tuple(ctx.solution.lstm_backward(grad, ctx.cache))


def test_backward_passes_a_float64_gradcheck(solution):
    case = make_case(2, 3, 2, 2, seed=7)
    inputs = [mg.tensor(case[k], requires_grad=True) for k in ("x", "h0", "c0", "kernel",
                                                               "recurrent_kernel", "bias")]
    try:
        mg.testing.gradcheck(lambda *ts: StudentLSTM.apply(*ts, solution=solution), *inputs)
    except mg.testing.GradcheckError as error:
        names = ", ".join(f"input {i} = {name[2:]}" for i, name in enumerate(GRAD_NAMES))
        raise AssertionError(f"your lstm_backward disagrees with finite differences of your "
                             f"lstm_forward ({names}): {error}") from None


def test_float32_stays_float32(solution):
    case = make_case(2, 4, 3, 2, dtype=np.float32, seed=8)
    outputs, cache = forward(solution, case)
    assert outputs.dtype == np.float32, (
        f"outputs of float32 inputs have dtype {outputs.dtype}, expected float32")
    h_new, c_new = solution.lstm_step(case["x"][:, 0], case["h0"], case["c0"], case["kernel"],
                                      case["recurrent_kernel"], case["bias"])
    assert h_new.dtype == np.float32 and c_new.dtype == np.float32, (
        f"lstm_step of float32 inputs returned {h_new.dtype} and {c_new.dtype}, expected "
        "float32")
    d_outputs = np.ones(outputs.shape, dtype=np.float32)
    got = backward(solution, d_outputs, cache)
    for name in GRAD_NAMES:
        assert np.asarray(got[name]).dtype == np.float32, (
            f"{name} of float32 inputs has dtype {np.asarray(got[name]).dtype}, expected float32")
    expected_outputs, expected = minigrads_lstm(case, d_outputs)
    np.testing.assert_allclose(outputs, expected_outputs, rtol=1e-5, atol=1e-6,
                               err_msg="outputs in float32")
    for name in GRAD_NAMES:
        np.testing.assert_allclose(got[name], expected[name], rtol=1e-4, atol=1e-5,
                                   err_msg=f"{name} in float32")
