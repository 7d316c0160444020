"""cuda_kernels/optimizers.cu (all parameters in one launch) against the CPU optimizers: the
same trajectories -- to the last bit when emulated, where the arithmetic is the CPU's step by
step; to rounding on a GPU. Run emulated on the CPU (g++) and on a GPU when there is one (see
conftest.py)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad.backends import get_backend

from ..optim._problem import run_minigrad

cpu = get_backend("cpu")

OPTIMIZERS = {
    "sgd": (lambda p: mg.optim.SGD(p, lr=0.1), "sgd_step"),
    "sgd_momentum": (lambda p: mg.optim.SGD(p, lr=0.05, momentum=0.9), "sgd_step"),
    "sgd_nesterov_wd": (lambda p: mg.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                               weight_decay=0.01), "sgd_step"),
    "sgd_dampening": (lambda p: mg.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3,
                                             weight_decay=0.1), "sgd_step"),
    "adam": (lambda p: mg.optim.Adam(p, lr=0.01), "adam_step"),
    "adam_l2_amsgrad": (lambda p: mg.optim.Adam(p, lr=0.01, weight_decay=0.05, amsgrad=True),
                        "adam_step"),
    "adamw": (lambda p: mg.optim.AdamW(p, lr=0.02, betas=(0.8, 0.95), eps=1e-6), "adam_step"),
    "adamw_amsgrad_clipnorm": (lambda p: mg.optim.AdamW(p, lr=0.01, amsgrad=True,
                                                        global_clipnorm=0.1), "adam_step"),
    # Keras's epsilon (scaled per step) and decoupled weight decay (before the launch)
    "adam_keras_formulas": (lambda p: mg.optim.Adam(p, lr=0.01, eps=1e-3, weight_decay=0.05,
                                                    amsgrad=True, formulas="keras"),
                            "adam_step"),
}


def _assert_trajectories(gpu, got, expected, dtype):
    exact = gpu.xp is np  # emulated: the CPU's arithmetic to the bit
    for step_got, step_expected in zip(got, expected):
        for a, b in zip(step_got, step_expected):
            assert a.dtype == b.dtype
            if exact:
                np.testing.assert_array_equal(a, b)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_trajectories_on_the_fused_kernels_match_the_cpu(gpu, name, dtype):
    make, kernel = OPTIMIZERS[name]
    expected, _, _ = run_minigrad(make, steps=12, dtype=dtype, device="cpu")
    got, params, optimizer = run_minigrad(make, steps=12, dtype=dtype, device=gpu)
    _assert_trajectories(gpu, got, expected, dtype)
    suffix = "f32" if dtype == "float32" else "f64"
    assert gpu.launched == [f"{kernel}_{suffix}"] * 12  # one launch per step for all four
    for p in params:
        for key, value in optimizer.state[id(p)].items():
            assert key == "step" or (gpu.owns(value) and value.dtype == p.dtype)


def test_one_launch_updates_every_parameter_of_a_group(gpu):
    """Four parameters, one launch per step (SGD's first step, which makes the momentum
    buffers, is a launch of its own kind)."""
    _, params, _ = run_minigrad(lambda p: mg.optim.SGD(p, lr=0.1, momentum=0.5), steps=3,
                                device=gpu)
    assert len(params) == 4
    assert gpu.launched == ["sgd_step_f64"] * 3


def test_sgd_and_adam_kernels_directly_on_odd_shapes(gpu):
    """Sizes around a thread block, a 0-d parameter and an empty one (left to the array
    formulation), several steps, against the CPU backend."""
    rng = np.random.default_rng(0)
    shapes = [(257,), (3, 5, 7), (), (0, 4), (256,), (1,)]
    for dtype in (np.float32, np.float64):
        params = [rng.standard_normal(s).astype(dtype) for s in shapes]
        ours = [gpu.asarray(p.copy()) for p in params]
        m = [np.zeros_like(p) for p in params]
        v = [np.zeros_like(p) for p in params]
        v_max = [np.zeros_like(p) for p in params]
        our_m, our_v, our_v_max = ([gpu.asarray(a.copy()) for a in arrays]
                                   for arrays in (m, v, v_max))
        buffers, our_buffers = [None] * len(shapes), [None] * len(shapes)
        for step in range(1, 4):
            grads = [rng.standard_normal(s).astype(dtype) for s in shapes]
            our_grads = [gpu.asarray(g) for g in grads]
            options = dict(lr=0.1, weight_decay=0.01, momentum=0.9, dampening=0.1,
                           nesterov=False)
            buffers = cpu.sgd_step(params, grads, buffers, **options)
            our_buffers = gpu.sgd_step(ours, our_grads, our_buffers, **options)
            options = dict(step=step, lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1,
                           decoupled=step % 2 == 0, amsgrad=True)
            cpu.adam_step(params, grads, m, v, v_max, **options)
            gpu.adam_step(ours, our_grads, our_m, our_v, our_v_max, **options)
        for expected, got in zip(params + buffers + m + v + v_max,
                                 ours + our_buffers + our_m + our_v + our_v_max):
            got = gpu.to_numpy(got)
            assert got.shape == expected.shape and got.dtype == expected.dtype
            np.testing.assert_allclose(got, expected, rtol=0 if gpu.xp is np else 1e-5)


def test_float16_parameters_take_the_array_formulation(gpu):
    expected, _, _ = run_minigrad(OPTIMIZERS["adam"][0], steps=3, dtype="float16", device="cpu")
    got, _, _ = run_minigrad(OPTIMIZERS["adam"][0], steps=3, dtype="float16", device=gpu)
    for a, b in zip(got[-1], expected[-1]):
        np.testing.assert_allclose(a, b, rtol=1e-3)
    assert gpu.launched == []
