"""Every optimizer, schedule and clipping option follows the same 50-step trajectory as
torch.optim on the same problem, in float64, to within 1e-6 (the measured differences are
around 1e-15)."""

import math

import numpy as np
import pytest

import minigrad as mg

from ._problem import make_params, compute_grads, max_difference, run_minigrad, run_torch

torch = pytest.importorskip("torch", reason="PyTorch not installed (in your minigrad clone: "
                                            'pip install -e ".[torch]")')

TOLERANCE = 1e-6

# (id, class name in both libraries, options: the same keywords in both)
OPTIMIZER_CASES = [
    ("sgd", "SGD", dict(lr=0.1)),
    ("sgd_momentum", "SGD", dict(lr=0.05, momentum=0.9)),
    ("sgd_momentum_dampening", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("sgd_nesterov", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", "SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1)),
    ("adagrad", "Adagrad", dict(lr=0.1)),
    ("adagrad_all_options", "Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05,
                                            initial_accumulator_value=0.1, eps=1e-6)),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop_momentum", "RMSprop", dict(lr=0.01, momentum=0.9)),
    ("rmsprop_centered", "RMSprop", dict(lr=0.01, centered=True)),
    ("rmsprop_centered_momentum_decay", "RMSprop", dict(lr=0.005, alpha=0.9, centered=True,
                                                        momentum=0.5, weight_decay=0.1)),
    ("adam", "Adam", dict(lr=0.01)),
    ("adam_weight_decay", "Adam", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1)),
    ("adam_amsgrad", "Adam", dict(lr=0.01, amsgrad=True)),
    ("adamw", "AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("adamw_amsgrad", "AdamW", dict(lr=0.02, weight_decay=0.5, amsgrad=True, eps=1e-6)),
]


def assert_same_trajectory(ours, theirs):
    difference = max_difference(ours, theirs)
    assert difference < TOLERANCE, f"trajectories differ by {difference:.3g}"


@pytest.mark.parametrize("name, options", [(c[1], c[2]) for c in OPTIMIZER_CASES],
                         ids=[c[0] for c in OPTIMIZER_CASES])
def test_trajectory_matches_torch(name, options, device):
    ours, _, _ = run_minigrad(lambda p: getattr(mg.optim, name)(p, **options), device=device)
    theirs, _, _ = run_torch(torch, lambda p: getattr(torch.optim, name)(p, **options))
    assert_same_trajectory(ours, theirs)


def test_adamw_decay_is_decoupled_unlike_adam():
    # The same weight_decay gives different trajectories with Adam (L2 in the gradient) and
    # AdamW (shrinking the weights); each matches its PyTorch counterpart above.
    adam, _, _ = run_minigrad(lambda p: mg.optim.Adam(p, lr=0.01, weight_decay=0.1))
    adamw, _, _ = run_minigrad(lambda p: mg.optim.AdamW(p, lr=0.01, weight_decay=0.1))
    assert max_difference(adam, adamw) > 1e-4


def test_parameter_groups_with_their_own_options_match_torch():
    def groups(params):
        return [{"params": params[:2], "lr": 0.05, "momentum": 0.9},
                {"params": params[2:], "weight_decay": 0.1}]

    ours, _, _ = run_minigrad(lambda p: mg.optim.SGD(groups(p), lr=0.1))
    theirs, _, _ = run_torch(torch, lambda p: torch.optim.SGD(groups(p), lr=0.1))
    assert_same_trajectory(ours, theirs)


# --- schedules --------------------------------------------------------------------------------

def run_with_schedule(make_optimizer, make_schedule, torch_make_optimizer, torch_make_schedule,
                      metric=None):
    """Both libraries, the schedule stepped after every optimizer step (as one epoch each);
    ``metric(step, loss)`` is passed to ReduceLROnPlateau-like schedules."""
    holder = {}

    def ours_after(optimizer, step, loss):
        schedule = holder.setdefault("ours", None)
        schedule.step() if metric is None else schedule.step(metric(step))
        holder.setdefault("our_lrs", []).append(optimizer.lr)

    def theirs_after(optimizer, step, loss):
        schedule = holder["theirs"]
        schedule.step() if metric is None else schedule.step(metric(step))
        holder.setdefault("their_lrs", []).append(optimizer.param_groups[0]["lr"])

    def ours_optimizer(params):
        optimizer = make_optimizer(params)
        holder["ours"] = make_schedule(optimizer)
        return optimizer

    def theirs_optimizer(params):
        optimizer = torch_make_optimizer(params)
        holder["theirs"] = torch_make_schedule(optimizer)
        return optimizer

    ours, _, _ = run_minigrad(ours_optimizer, after_step=ours_after)
    theirs, _, _ = run_torch(torch, theirs_optimizer, after_step=theirs_after)
    np.testing.assert_allclose(holder["our_lrs"], holder["their_lrs"], rtol=1e-12, atol=0)
    return ours, theirs, holder["our_lrs"]


def plateau_metric(step):
    """A scripted validation loss: a real improvement every 8 epochs, and in between small
    improvements (0.01 %) that stay under the 1 % threshold."""
    return 10.0 - step // 8 - 0.001 * (step % 8)


sched = torch.optim.lr_scheduler
SCHEDULE_CASES = [
    ("step_lr", lambda p: mg.optim.SGD(p, lr=0.1, momentum=0.9),
     lambda o: mg.optim.StepLR(o, step_size=7, gamma=0.5),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     lambda o: sched.StepLR(o, step_size=7, gamma=0.5), None),
    ("exponential_lr", lambda p: mg.optim.Adam(p, lr=0.02),
     lambda o: mg.optim.ExponentialLR(o, gamma=0.95),
     lambda p: torch.optim.Adam(p, lr=0.02),
     lambda o: sched.ExponentialLR(o, gamma=0.95), None),
    # T_max=20 over 50 steps: past T_max the cosine rises again, as in PyTorch
    ("cosine_annealing_lr", lambda p: mg.optim.RMSprop(p, lr=0.01, momentum=0.5),
     lambda o: mg.optim.CosineAnnealingLR(o, T_max=20, eta_min=0.001),
     lambda p: torch.optim.RMSprop(p, lr=0.01, momentum=0.5),
     lambda o: sched.CosineAnnealingLR(o, T_max=20, eta_min=0.001), None),
    ("linear_warmup_then_cosine", lambda p: mg.optim.SGD(p, lr=0.1),
     lambda o: mg.optim.LinearWarmup(mg.optim.CosineAnnealingLR(o, T_max=20, eta_min=0.001),
                                     warmup_steps=5, start_factor=0.25),
     lambda p: torch.optim.SGD(p, lr=0.1),
     lambda o: sched.SequentialLR(o, [sched.LinearLR(o, start_factor=0.25, total_iters=5),
                                      sched.CosineAnnealingLR(o, T_max=20, eta_min=0.001)],
                                  milestones=[5]), None),
    ("reduce_lr_on_plateau_min_rel", lambda p: mg.optim.SGD(p, lr=0.1, momentum=0.9),
     lambda o: mg.optim.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.01,
                                          cooldown=1, min_lr=0.004),
     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
     lambda o: sched.ReduceLROnPlateau(o, factor=0.5, patience=2, threshold=0.01, cooldown=1,
                                       min_lr=0.004), plateau_metric),
    ("reduce_lr_on_plateau_max_abs", lambda p: mg.optim.Adam(p, lr=0.01),
     lambda o: mg.optim.ReduceLROnPlateau(o, mode="max", factor=0.7, patience=3,
                                          threshold=0.5, threshold_mode="abs"),
     lambda p: torch.optim.Adam(p, lr=0.01),
     lambda o: sched.ReduceLROnPlateau(o, mode="max", factor=0.7, patience=3, threshold=0.5,
                                       threshold_mode="abs"),
     lambda step: -plateau_metric(step)),
]


@pytest.mark.filterwarnings("ignore::UserWarning")  # PyTorch's deprecation notes on SequentialLR
@pytest.mark.parametrize("case", SCHEDULE_CASES, ids=[c[0] for c in SCHEDULE_CASES])
def test_schedule_trajectory_matches_torch(case):
    _, make_optimizer, make_schedule, torch_optimizer, torch_schedule, metric = case
    ours, theirs, lrs = run_with_schedule(make_optimizer, make_schedule, torch_optimizer,
                                          torch_schedule, metric)
    assert len(set(lrs)) > 3, "the schedule should change the learning rate several times"
    assert_same_trajectory(ours, theirs)


def test_keras_style_schedule_as_lr_matches_torch_scheduler_stepped_per_batch():
    # Adam(lr=ExponentialDecay(...)) advances the schedule itself after every step.
    ours, _, _ = run_minigrad(lambda p: mg.optim.Adam(
        p, learning_rate=mg.optim.ExponentialDecay(0.02, decay_steps=1, decay_rate=0.95)))
    holder = {}

    def make(params):
        optimizer = torch.optim.Adam(params, lr=0.02)
        holder["schedule"] = sched.ExponentialLR(optimizer, gamma=0.95)
        return optimizer

    theirs, _, _ = run_torch(torch, make, after_step=lambda o, s, l: holder["schedule"].step())
    assert_same_trajectory(ours, theirs)


# --- gradient clipping ------------------------------------------------------------------------

CLIP_CASES = [
    ("clipnorm", dict(clipnorm=0.05),
     lambda params: [torch.nn.utils.clip_grad_norm_([p], 0.05) for p in params]),
    ("global_clipnorm", dict(global_clipnorm=0.1),
     lambda params: torch.nn.utils.clip_grad_norm_(params, 0.1)),
    ("clipvalue", dict(clipvalue=0.02),
     lambda params: torch.nn.utils.clip_grad_value_(params, 0.02)),
]


@pytest.mark.parametrize("option, torch_clip", [(c[1], c[2]) for c in CLIP_CASES],
                         ids=[c[0] for c in CLIP_CASES])
@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_clipping_option_matches_torch_clip_functions(name, option, torch_clip, device):
    options = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.01)
    ours, _, _ = run_minigrad(lambda p: getattr(mg.optim, name)(p, **options, **option),
                              device=device)
    theirs, _, _ = run_torch(torch, lambda p: getattr(torch.optim, name)(p, **options),
                             before_step=torch_clip)
    unclipped, _, _ = run_minigrad(lambda p: getattr(mg.optim, name)(p, **options))
    assert max_difference(ours, unclipped) > 1e-4, "the clipping should have been active"
    assert_same_trajectory(ours, theirs)


def torch_grads(seed=0):
    from ._problem import loss_fn, problem_arrays

    x, y, weights = problem_arrays(seed)
    params = [torch.tensor(w, requires_grad=True) for w in weights]
    loss_fn(torch, torch.tensor(x), *params, torch.tensor(y)).backward()
    return params


@pytest.mark.parametrize("max_norm, norm_type", [(0.1, 2.0), (1e3, 2.0), (0.05, math.inf),
                                                 (0.2, 1.0)])
def test_clip_grad_norm_matches_torch(max_norm, norm_type, device):
    params = make_params(device=device)
    compute_grads(params, device=device)
    norm = mg.optim.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    expected_params = torch_grads()
    expected_norm = torch.nn.utils.clip_grad_norm_(expected_params, max_norm,
                                                   norm_type=norm_type)
    assert isinstance(norm, float)
    assert norm == pytest.approx(expected_norm.item(), rel=1e-12)
    for p, expected in zip(params, expected_params):
        np.testing.assert_allclose(p.grad.numpy(), expected.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_clip_grad_value_matches_torch(device):
    params = make_params(device=device)
    compute_grads(params, device=device)
    mg.optim.clip_grad_value_(params, 0.03)
    expected_params = torch_grads()
    torch.nn.utils.clip_grad_value_(expected_params, 0.03)
    for p, expected in zip(params, expected_params):
        assert np.abs(p.grad.numpy()).max() <= 0.03
        # the gradients themselves differ in the last bits (two autograd engines)
        np.testing.assert_allclose(p.grad.numpy(), expected.grad.numpy(), rtol=1e-12, atol=1e-15)
