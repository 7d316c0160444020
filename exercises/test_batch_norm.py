"""Grades exercises/batch_norm.py:  pytest exercises/test_batch_norm.py"""

import numpy as np
import pytest

import minigrad as mg

SHAPES = [(8, 3), (4, 3, 5, 2)]


def make_case(shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    c = shape[-1]
    return dict(x=(rng.normal(size=shape) * 2 + 1).astype(dtype),
                gamma=rng.uniform(0.5, 2, size=c).astype(dtype),
                beta=rng.normal(size=c).astype(dtype),
                moving_mean=rng.normal(size=c).astype(dtype) * 0.1,
                moving_var=rng.uniform(0.5, 1.5, size=c).astype(dtype))


def train(solution, case, **kwargs):
    result = solution.batch_norm_train(case["x"], case["gamma"], case["beta"],
                                       case["moving_mean"], case["moving_var"], **kwargs)
    assert isinstance(result, tuple) and len(result) == 4, (
        "batch_norm_train should return (y, new_moving_mean, new_moving_var, cache)")
    return result


def check_shape(name, got, expected):
    assert np.shape(got) == tuple(expected), (
        f"{name} should have shape {tuple(expected)}, got {np.shape(got)}")


def test_the_batch_variance_is_biased(solution):
    # One channel, the batch [1, 3]: mean 2, biased variance ((1-2)^2 + (3-2)^2) / 2 = 1.
    case = dict(x=np.array([[1.0], [3.0]]), gamma=np.ones(1), beta=np.zeros(1),
                moving_mean=np.zeros(1), moving_var=np.ones(1))
    y, new_mean, new_var, _ = train(solution, case, momentum=0.5, epsilon=0.0)
    assert np.allclose(np.ravel(y), [-1.0, 1.0], rtol=1e-12), (
        f"batch_norm_train of the batch [1, 3] (gamma 1, beta 0, epsilon 0) should give "
        f"[-1, 1] (mean 2, variance 1), got {np.ravel(y).tolist()} -- the batch variance "
        "divides by m (np.var's default), not by m - 1")
    assert np.allclose(new_mean, [1.0]) and np.allclose(new_var, [1.0]), (
        f"after the batch [1, 3] with momentum 0.5 from moving_mean 0 and moving_var 1: "
        f"expected new_moving_mean [1.0] (0.5 * 0 + 0.5 * 2) and new_moving_var [1.0] "
        f"(0.5 * 1 + 0.5 * 1), got {np.ravel(new_mean).tolist()} and "
        f"{np.ravel(new_var).tolist()}")


@pytest.mark.parametrize("shape", SHAPES)
def test_training_mode_matches_minigrad(solution, shape):
    case = make_case(shape, seed=1)
    y, new_mean, new_var, _ = train(solution, case, momentum=0.9, epsilon=1e-3)
    c = shape[-1]
    where = ("over N" if len(shape) == 2 else
             "over N, H and W together (m = N*H*W values per channel)")
    for name, got in (("new_moving_mean", new_mean), ("new_moving_var", new_var)):
        check_shape(f"{name} of an input of shape {shape} (one value per channel; the "
                    f"statistics are {where})", got, (c,))
    check_shape(f"y of an input of shape {shape}", y, shape)
    running_mean, running_var = mg.tensor(case["moving_mean"]), mg.tensor(case["moving_var"])
    expected = mg.batch_norm(mg.tensor(case["x"]), mg.tensor(case["gamma"]),
                             mg.tensor(case["beta"]), running_mean, running_var, training=True,
                             momentum=0.9, epsilon=1e-3)
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-10, atol=1e-12, err_msg=(
        f"y in training mode (input {shape}) differs from minigrad's batch_norm: normalize "
        f"each channel {where}, then gamma * x_hat + beta"))
    np.testing.assert_allclose(new_mean, running_mean.numpy(), rtol=1e-10, atol=1e-12,
                               err_msg="new_moving_mean (momentum 0.9)")
    np.testing.assert_allclose(new_var, running_var.numpy(), rtol=1e-10, atol=1e-12,
                               err_msg="new_moving_var (momentum 0.9)")


def test_the_arguments_are_not_modified(solution):
    case = make_case((6, 2), seed=2)
    before = {k: v.copy() for k, v in case.items()}
    train(solution, case)
    for name, value in before.items():
        np.testing.assert_array_equal(case[name], value, err_msg=(
            f"batch_norm_train modified its argument {name} in place; return new arrays"))


def test_the_moving_statistics_follow_the_layer_over_five_steps(solution):
    shape, momentum = (6, 2, 2, 3), 0.8
    layer = mg.nn.BatchNormalization(momentum=momentum, epsilon=1e-3, dtype="float64")
    layer.build(shape)
    case = make_case(shape, seed=3)
    layer.set_weights([case["gamma"], case["beta"], case["moving_mean"], case["moving_var"]])
    mean, var = case["moving_mean"], case["moving_var"]
    rng = np.random.default_rng(4)
    for step in range(1, 6):
        x = rng.normal(size=shape) * step + step
        layer(mg.tensor(x))
        _, mean, var, _ = solution.batch_norm_train(x, case["gamma"], case["beta"], mean, var,
                                                    momentum=momentum, epsilon=1e-3)
        rule = (f"moving = {momentum} * moving + {1 - momentum:.1f} * batch (Keras's momentum, "
                "the biased batch variance)")
        np.testing.assert_allclose(mean, layer.moving_mean.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"moving_mean after step {step}: {rule}")
        np.testing.assert_allclose(var, layer.moving_variance.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=f"moving_var after step {step}: {rule}")


@pytest.mark.parametrize("shape", SHAPES)
def test_inference_mode_matches_the_layer_in_eval_mode(solution, shape):
    case = make_case(shape, seed=5)
    layer = mg.nn.BatchNormalization(epsilon=1e-3, dtype="float64")
    layer.build(shape)
    layer.set_weights([case["gamma"], case["beta"], case["moving_mean"], case["moving_var"]])
    layer.eval()
    expected = layer(mg.tensor(case["x"])).numpy()
    y = solution.batch_norm_inference(case["x"], case["gamma"], case["beta"],
                                      case["moving_mean"], case["moving_var"], epsilon=1e-3)
    check_shape(f"batch_norm_inference of an input of shape {shape}", y, shape)
    np.testing.assert_allclose(y, expected, rtol=1e-10, atol=1e-12, err_msg=(
        "inference mode: normalize with moving_mean and moving_var, not the batch's statistics"))


@pytest.mark.parametrize("shape", SHAPES)
def test_backward_matches_minigrads_autograd(solution, shape):
    case = make_case(shape, seed=6)
    dy = np.random.default_rng(7).normal(size=shape)
    x, gamma, beta = (mg.tensor(case[k], requires_grad=True) for k in ("x", "gamma", "beta"))
    mg.batch_norm(x, gamma, beta, None, None, training=True, epsilon=1e-3).backward(
        mg.tensor(dy))
    _, _, _, cache = train(solution, case, epsilon=1e-3)
    got = solution.batch_norm_backward(dy, cache)
    assert len(got) == 3, "batch_norm_backward should return (dx, d_gamma, d_beta)"
    for name, ours, theirs in zip(("dx", "d_gamma", "d_beta"), got, (x, gamma, beta)):
        check_shape(f"{name} (input {shape})", ours, theirs.shape)
        hint = (" -- x reaches y directly AND through the batch mean and variance"
                if name == "dx" else "")
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=(
            f"{name} (input {shape}) differs from minigrad's batch_norm backward{hint}"))


class StudentBatchNorm(mg.autograd.Function):
    """The student's training-mode forward and backward as one op, for gradcheck."""

    @staticmethod
    def forward(ctx, x, gamma, beta, solution=None):
        y, _, _, ctx.cache = solution.batch_norm_train(x, gamma, beta, np.zeros_like(gamma),
                                                       np.ones_like(gamma), epsilon=1e-3)
        ctx.solution = solution
        return np.asarray(y)

    @staticmethod
    def backward(ctx, grad):
        return tuple(ctx.solution.batch_norm_backward(grad, ctx.cache))


def test_backward_passes_a_float64_gradcheck(solution):
    case = make_case((3, 2, 2, 2), seed=8)
    inputs = [mg.tensor(case[k], requires_grad=True) for k in ("x", "gamma", "beta")]
    try:
        mg.testing.gradcheck(lambda *ts: StudentBatchNorm.apply(*ts, solution=solution),
                             *inputs)
    except mg.testing.GradcheckError as error:
        raise AssertionError(f"your batch_norm_backward disagrees with finite differences of "
                             f"your batch_norm_train (input 0 = x, 1 = gamma, 2 = beta): "
                             f"{error}") from None


def test_float32_stays_float32(solution):
    case = make_case((4, 3, 3, 2), dtype=np.float32, seed=9)
    y, new_mean, new_var, cache = train(solution, case)
    y_inf = solution.batch_norm_inference(case["x"], case["gamma"], case["beta"],
                                          case["moving_mean"], case["moving_var"])
    dx, d_gamma, d_beta = solution.batch_norm_backward(np.ones_like(case["x"]), cache)
    for name, got in (("y", y), ("new_moving_mean", new_mean), ("new_moving_var", new_var),
                      ("batch_norm_inference's y", y_inf), ("dx", dx), ("d_gamma", d_gamma),
                      ("d_beta", d_beta)):
        assert np.asarray(got).dtype == np.float32, (
            f"{name} of float32 inputs has dtype {np.asarray(got).dtype}, expected float32")
    expected = mg.batch_norm(mg.tensor(case["x"]), mg.tensor(case["gamma"]),
                             mg.tensor(case["beta"]), None, None, training=True)
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-5, atol=1e-5,
                               err_msg="y in float32")
