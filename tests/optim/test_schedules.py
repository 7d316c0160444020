"""Learning-rate schedules: their formulas, the two ways of using them (stepped by hand, or
passed as an optimizer's lr and stepped per batch), their state, and their errors. The
trajectories against torch.optim.lr_scheduler are in test_against_torch.py."""

import math

import numpy as np
import pytest

import minigrad as mg

from ._problem import compute_grads, make_params, run_minigrad


def sgd(lr=0.1, groups=None):
    params = make_params()
    if groups:
        params = [{"params": params[:2], "lr": groups[0]}, {"params": params[2:]}]
    return mg.optim.SGD(params, lr=lr)


def lrs_when_stepped(schedule, optimizer, steps):
    """The optimizer's learning rate before each step() of the schedule, ``steps`` times."""
    values = []
    for _ in range(steps):
        values.append(optimizer.lr)
        schedule.step()
    return values


def test_step_lr_formula_and_the_keras_name():
    assert mg.optim.StepDecay is mg.optim.StepLR
    optimizer = sgd(lr=1.0)
    schedule = mg.optim.StepLR(optimizer, step_size=3, gamma=0.5)
    assert lrs_when_stepped(schedule, optimizer, 7) == [1, 1, 1, 0.5, 0.5, 0.5, 0.25]


def test_exponential_decay_continuous_and_staircase():
    smooth = mg.optim.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    stairs = mg.optim.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    assert smooth(2) == pytest.approx(0.1 * 0.5 ** 0.5)
    assert [stairs(t) for t in (0, 3, 4, 7, 8)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert mg.optim.ExponentialLR(0.1, gamma=0.9)(3) == pytest.approx(0.1 * 0.9 ** 3)


def test_cosine_decay_stays_at_its_floor_while_cosine_annealing_rises_again():
    keras = mg.optim.CosineDecay(1.0, decay_steps=10, alpha=0.1)
    torch_style = mg.optim.CosineAnnealingLR(1.0, T_max=10, eta_min=0.1)
    for t in range(11):
        assert keras(t) == pytest.approx(torch_style(t))
    assert keras(15) == pytest.approx(0.1)
    assert torch_style(15) == pytest.approx(0.1 + 0.9 * (1 + math.cos(1.5 * math.pi)) / 2)
    assert torch_style(20) == pytest.approx(1.0)


def test_linear_warmup_to_a_constant_and_to_an_optimizers_rate():
    constant = mg.optim.LinearWarmup(0.2, warmup_steps=4)
    assert [constant(t) for t in range(6)] == pytest.approx([0, 0.05, 0.1, 0.15, 0.2, 0.2])
    optimizer = sgd(lr=0.4)
    warmup = mg.optim.LinearWarmup(optimizer, warmup_steps=2, start_factor=0.5)
    assert lrs_when_stepped(warmup, optimizer, 4) == pytest.approx([0.2, 0.3, 0.4, 0.4])


def test_warmup_takes_over_the_optimizer_of_the_schedule_it_wraps():
    optimizer = sgd(lr=1.0)
    inner = mg.optim.StepLR(optimizer, step_size=2, gamma=0.1)
    warmup = mg.optim.LinearWarmup(inner, warmup_steps=2)
    assert inner.optimizer is None and warmup.optimizer is optimizer
    assert lrs_when_stepped(warmup, optimizer, 6) == pytest.approx([0, 0.5, 1, 1, 0.1, 0.1])


def test_every_group_is_scaled_from_its_own_base_rate():
    optimizer = sgd(lr=0.1, groups=[1.0])
    schedule = mg.optim.StepLR(optimizer, step_size=1, gamma=0.5)
    schedule.step()
    assert schedule.base_lrs == [1.0, 0.1]
    assert schedule.get_last_lr() == [0.5, 0.05]
    assert schedule.get_lr() == 0.5
    assert [g["lr"] for g in optimizer.param_groups] == [0.5, 0.05]


def test_schedule_as_lr_advances_once_per_optimizer_step():
    schedule = mg.optim.StepLR(0.1, step_size=2, gamma=0.5)
    params = make_params()
    optimizer = mg.optim.SGD(params, learning_rate=schedule)
    used = []
    for _ in range(5):
        used.append(optimizer.lr)                    # the rate of this update
        compute_grads(params)
        optimizer.step()
    assert used == [schedule(k) for k in range(5)] == [0.1, 0.1, 0.05, 0.05, 0.025]
    assert schedule.step_count == optimizer.iterations == 5


def test_schedule_as_lr_gives_the_same_trajectory_as_stepping_it_by_hand():
    def by_hand(optimizer, step, loss):
        holder[0].step()

    holder = []

    def make(params):
        optimizer = mg.optim.Adam(params, lr=0.02)
        holder.append(mg.optim.CosineAnnealingLR(optimizer, T_max=10))
        return optimizer

    manual, _, _ = run_minigrad(make, steps=15, after_step=by_hand)
    owned, _, _ = run_minigrad(lambda p: mg.optim.Adam(
        p, lr=mg.optim.CosineAnnealingLR(0.02, T_max=10)), steps=15)
    for a, b in zip(manual[-1], owned[-1]):
        np.testing.assert_array_equal(a, b)


def test_schedule_given_before_the_parameters_applies_when_they_come():
    optimizer = mg.optim.get("sgd", learning_rate=mg.optim.LinearWarmup(0.1, warmup_steps=10))
    assert optimizer.lr == 0.0
    optimizer.add_param_group(make_params())
    assert optimizer.param_groups[0]["lr"] == 0.0
    compute_grads(optimizer.param_groups[0]["params"])
    optimizer.step()
    assert optimizer.lr == pytest.approx(0.01)


def test_optimizer_state_dict_carries_its_schedule():
    make = lambda p: mg.optim.SGD(p, lr=mg.optim.ExponentialLR(0.1, gamma=0.9), momentum=0.9)
    straight, _, _ = run_minigrad(make, steps=10)
    first, params, optimizer = run_minigrad(make, steps=4)
    saved = optimizer.state_dict()
    assert saved["schedule"] == {"step_count": 4, "initial_lr": 0.1}
    fresh = [mg.nn.Parameter(mg.tensor(p.numpy().copy(), dtype="float64")) for p in params]
    resumed = make(fresh)
    resumed.load_state_dict(saved)
    assert resumed.lr == pytest.approx(0.1 * 0.9 ** 4)
    rest, _, _ = run_minigrad(None, steps=6, params=fresh, optimizer=resumed)
    for a, b in zip(rest[-1], straight[-1]):
        np.testing.assert_array_equal(a, b)


def test_schedule_state_dict_round_trip():
    optimizer = sgd(lr=1.0)
    schedule = mg.optim.CosineAnnealingLR(optimizer, T_max=10)
    for _ in range(3):
        schedule.step()
    other_optimizer = sgd(lr=1.0)
    other = mg.optim.CosineAnnealingLR(other_optimizer, T_max=10)
    other.load_state_dict(schedule.state_dict())
    assert other.step_count == 3 and other_optimizer.lr == optimizer.lr == other.get_lr()


def test_a_driven_learning_rate_cannot_be_set_by_hand():
    optimizer = mg.optim.Adam(make_params(), lr=mg.optim.ExponentialLR(0.1, gamma=0.9))
    with pytest.raises(TypeError, match="this Adam's learning rate is driven by ExponentialLR; "
                                        "it cannot be set to a number"):
        optimizer.lr = 0.5
    optimizer.lr = mg.optim.StepLR(0.5, step_size=1)            # a new schedule is fine
    assert optimizer.lr == 0.5


def test_one_schedule_per_optimizer():
    schedule = mg.optim.StepLR(0.1, step_size=1)
    mg.optim.SGD(make_params(), lr=schedule)
    with pytest.raises(ValueError, match="already sets the learning rate of another optimizer"):
        mg.optim.SGD(make_params(), lr=schedule)
    driven = mg.optim.SGD(make_params(), lr=mg.optim.StepLR(0.1, step_size=1))
    with pytest.raises(ValueError, match="already driven by StepLR"):
        mg.optim.CosineAnnealingLR(driven, T_max=3)
    with pytest.raises(ValueError, match="ReduceLROnPlateau cannot change a learning rate driven "
                                         "by the schedule StepLR"):
        mg.optim.ReduceLROnPlateau(driven)


@pytest.mark.parametrize("make, message", [
    (lambda: mg.optim.StepLR(-0.1, step_size=2), "StepLR expected an initial learning rate >= 0"),
    (lambda: mg.optim.StepLR(0.1, step_size=0), "StepLR expected an integer step_size >= 1"),
    (lambda: mg.optim.StepLR("adam", step_size=1),
     "StepLR expected an optimizer or an initial learning rate, got str"),
    (lambda: mg.optim.ExponentialLR(0.1, gamma=0), r"expected gamma \(decay_rate\) > 0"),
    (lambda: mg.optim.CosineAnnealingLR(0.1, T_max=0), "expected T_max > 0"),
    (lambda: mg.optim.CosineDecay(0.1, 10, alpha=2), r"expected alpha in \[0, 1\]"),
    (lambda: mg.optim.LinearWarmup(0.1, warmup_steps=0), "expected an integer warmup_steps"),
    (lambda: mg.optim.ReduceLROnPlateau(sgd(), factor=1.0), r"expected factor in \(0, 1\)"),
    (lambda: mg.optim.ReduceLROnPlateau(sgd(), mode="lowest"), "expected mode 'min' or 'max'"),
    (lambda: mg.optim.ReduceLROnPlateau(sgd(), min_lr=[0, 0]),
     "got 2 min_lr values for 1 parameter groups"),
    (lambda: mg.optim.ReduceLROnPlateau(0.1), "ReduceLROnPlateau expected an optimizer, got float"),
])
def test_bad_schedule_arguments(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_reduce_lr_on_plateau_patience_cooldown_and_floor():
    optimizer = sgd(lr=1.0)
    plateau = mg.optim.ReduceLROnPlateau(optimizer, factor=0.5, patience=1, cooldown=2,
                                         min_lr=0.2)
    lrs = []
    for loss in [5, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4]:
        plateau.step(mg.tensor(float(loss)))
        lrs.append(optimizer.lr)
    # bad epochs 1, 2 -> halve; 2 epochs of cooldown; 1, 2 -> halve; cooldown; 1, 2 -> the floor
    assert lrs == [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.2]
    assert plateau.best == 4 and plateau.get_last_lr() == [0.2]


def test_reduce_lr_on_plateau_state_dict_round_trip():
    optimizer = sgd(lr=1.0)
    plateau = mg.optim.ReduceLROnPlateau(optimizer, mode="max", patience=3)
    for metric in [0.5, 0.6, 0.6]:
        plateau.step(metric)
    other = mg.optim.ReduceLROnPlateau(sgd(lr=1.0))
    other.load_state_dict(plateau.state_dict())
    assert (other.mode, other.best, other.num_bad_epochs, other.last_epoch) == ("max", 0.6, 1, 3)


SCHEDULES = [
    lambda: mg.optim.StepLR(0.1, step_size=3, gamma=0.5),
    lambda: mg.optim.ExponentialLR(0.2, gamma=0.9, decay_steps=2, staircase=True),
    lambda: mg.optim.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5),
    lambda: mg.optim.CosineAnnealingLR(0.3, T_max=5, eta_min=0.01),
    lambda: mg.optim.CosineDecay(0.1, decay_steps=6, alpha=0.2),
    lambda: mg.optim.LinearWarmup(mg.optim.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5),
                                  warmup_steps=3, start_factor=0.1),
    lambda: mg.optim.LinearWarmup(0.05, warmup_steps=2),
]


@pytest.mark.parametrize("make", SCHEDULES)
def test_a_schedule_made_again_from_its_config_gives_the_same_rates(make):
    schedule = make()
    config = mg.optim.schedules.serialize(schedule)
    again = mg.optim.schedules.deserialize(config)
    assert type(again) is type(schedule)
    assert [again(t) for t in range(12)] == [schedule(t) for t in range(12)]


@pytest.mark.parametrize("make", SCHEDULES)
def test_an_optimizer_made_from_its_config_and_state_continues_its_schedule(make):
    # The reported bug: a reloaded optimizer kept the rate of the moment it was saved (0.00625)
    # while the schedule had gone on (0.000391).
    original = mg.optim.Adam(make_params(), lr=make())
    for _ in range(5):
        compute_grads(original._parameters())
        original.step()
    config = {"class_name": "Adam", "config": original.get_config()}
    import json
    again = mg.optim.get(json.loads(json.dumps(config)), params=make_params())
    again.load_state_dict(original.state_dict())
    rates = []
    for optimizer in (original, again):
        trail = []
        for _ in range(6):
            trail.append(optimizer.lr)
            compute_grads(optimizer._parameters())
            optimizer.step()
        rates.append(trail)
    assert rates[0] == rates[1]
    assert len(set(rates[0])) > 1 or isinstance(original._schedule, mg.optim.LinearWarmup)


@pytest.mark.parametrize("config, message", [
    ({"class_name": "Eval", "config": {}}, "unknown learning-rate schedule"),
    ({"class_name": "StepLR", "config": {"step_size": 2}}, "cannot be made"),
    ({"class_name": "StepLR", "config": {"optimizer_or_lr": 0.1, "step_size": -1}}, "step_size"),
    ("StepLR", "must be described"),
    ({"class_name": "LinearWarmup", "config": {"warmup_steps": 1, "after": {
        "class_name": "LinearWarmup", "config": {"warmup_steps": 1, "after": {
            "class_name": "LinearWarmup", "config": {"warmup_steps": 1, "after": {
                "class_name": "LinearWarmup", "config": {"warmup_steps": 1, "after": {
                    "class_name": "LinearWarmup", "config": {"warmup_steps": 1, "after": {
                        "class_name": "LinearWarmup", "config": {}}}}}}}}}}}},
     "nested"),
])
def test_a_bad_schedule_description_is_a_value_error(config, message):
    with pytest.raises(ValueError, match=message):
        mg.optim.schedules.deserialize(config)


def test_a_saved_and_loaded_model_continues_its_schedule(tmp_path):
    # issue 12: after load_model the rate stayed at the saved 0.00625 while the schedule of
    # the model that went on training reached 0.000391
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.normal(size=(64, 1))
    model = mg.Sequential([mg.nn.Dense(1, input_shape=(4,))])
    schedule = mg.optim.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    model.compile(optimizer=mg.optim.Adam(lr=schedule), loss="mse")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    model.save(tmp_path / "model.safetensors")
    loaded = mg.load_model(tmp_path / "model.safetensors")
    assert loaded.optimizer.lr == model.optimizer.lr == 0.1 * 0.5 ** 4
    for each in (model, loaded):
        each.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert loaded.optimizer.lr == model.optimizer.lr == 0.1 * 0.5 ** 8
    assert loaded.layers[0].kernel.numpy().tobytes() == model.layers[0].kernel.numpy().tobytes()
