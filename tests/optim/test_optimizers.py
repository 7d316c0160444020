"""Optimizer behaviour that needs no reference library: dtypes, devices, the state dict,
parameters without gradients, get() by name, the learning rate, and the error messages."""

import json

import numpy as np
import pytest

import minigrad as mg

from ._problem import compute_grads, make_params, run_minigrad

# Every optimizer with every option that creates state switched on.
FULL_OPTIONS = {
    "sgd_nesterov": lambda p: mg.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                           weight_decay=0.01),
    "adagrad": lambda p: mg.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.01,
                                          initial_accumulator_value=0.1),
    "rmsprop_centered_momentum": lambda p: mg.optim.RMSprop(p, lr=0.01, momentum=0.9,
                                                            centered=True, weight_decay=0.01),
    "adam_amsgrad": lambda p: mg.optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.01),
    "adamw_amsgrad": lambda p: mg.optim.AdamW(p, lr=0.01, amsgrad=True),
    "sgd_clipnorm": lambda p: mg.optim.SGD(p, lr=0.1, clipnorm=0.05),
    "adam_global_clipnorm": lambda p: mg.optim.Adam(p, lr=0.01, global_clipnorm=0.1),
    "rmsprop_clipvalue": lambda p: mg.optim.RMSprop(p, lr=0.01, clipvalue=0.01),
}
CASES = pytest.mark.parametrize("make", FULL_OPTIONS.values(), ids=FULL_OPTIONS.keys())


# --- dtypes and devices ----------------------------------------------------------------------

@CASES
def test_float32_parameters_and_state_stay_float32(make, device):
    _, params, optimizer = run_minigrad(make, steps=3, dtype="float32", device=device)
    for p in params:
        assert p.dtype == mg.float32 and p.device == device
        for key, value in optimizer.state[id(p)].items():
            if key != "step":
                assert value.dtype == np.float32, key
                assert p._backend.owns(value), f"{key} is not on {device}"
    for entry in optimizer.state_dict()["state"].values():
        for key, value in entry.items():
            assert key == "step" or value.dtype == np.float32


@CASES
def test_float32_run_follows_the_float64_run(make, device):
    single, _, _ = run_minigrad(make, steps=10, dtype="float32", device=device)
    double, _, _ = run_minigrad(make, steps=10, dtype="float64", device=device)
    for ours, reference in zip(single[-1], double[-1]):
        np.testing.assert_allclose(ours, reference, rtol=1e-3, atol=1e-4)


# --- state dict ------------------------------------------------------------------------------

@CASES
def test_state_dict_round_trip_continues_the_trajectory_exactly(make, device):
    straight, _, _ = run_minigrad(make, steps=50, device=device)
    first, params, optimizer = run_minigrad(make, steps=20, device=device)
    saved = optimizer.state_dict()
    # a fresh model with the weights after 20 steps, and a fresh optimizer
    fresh = [mg.nn.Parameter(mg.tensor(p.numpy().copy(), device=device)) for p in params]
    resumed = make(fresh)
    resumed.load_state_dict(saved)
    rest, _, _ = run_minigrad(None, steps=30, device=device, params=fresh, optimizer=resumed)
    for ours, expected in zip(first + rest, straight):
        for a, b in zip(ours, expected):
            np.testing.assert_array_equal(a, b)
    assert resumed.iterations == 50


def _plain(value):
    """The state dict with arrays as lists: what a JSON file holds."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    assert value is None or isinstance(value, (bool, int, float, str)), type(value)
    return value


def test_state_dict_holds_only_plain_data_and_survives_json():
    straight, _, _ = run_minigrad(FULL_OPTIONS["adam_amsgrad"], steps=30)
    _, params, optimizer = run_minigrad(FULL_OPTIONS["adam_amsgrad"], steps=10)
    text = json.dumps(_plain(optimizer.state_dict()))       # fails on any non-plain object
    fresh = [mg.nn.Parameter(mg.tensor(p.numpy().copy(), dtype="float64")) for p in params]
    resumed = FULL_OPTIONS["adam_amsgrad"](fresh)
    resumed.load_state_dict(json.loads(text))
    rest, _, _ = run_minigrad(None, steps=20, params=fresh, optimizer=resumed)
    for a, b in zip(rest[-1], straight[-1]):
        np.testing.assert_array_equal(a, b)


def test_state_dict_is_keyed_by_parameter_index_and_is_a_copy():
    _, params, optimizer = run_minigrad(lambda p: mg.optim.Adam(p, lr=0.01), steps=2)
    saved = optimizer.state_dict()
    assert sorted(saved["state"]) == [0, 1, 2, 3]
    assert saved["state"][2]["exp_avg"].shape == params[2].shape
    assert saved["state"][2]["step"] == 2
    assert saved["param_groups"] == [{"lr": 0.01, "betas": [0.9, 0.999], "eps": 1e-8,
                                      "weight_decay": 0.0, "amsgrad": False,
                                      "params": [0, 1, 2, 3]}]
    before = saved["state"][0]["exp_avg"].copy()
    compute_grads(params)
    optimizer.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], before)


def test_load_state_dict_restores_group_options_such_as_the_learning_rate():
    _, _, optimizer = run_minigrad(lambda p: mg.optim.SGD(p, lr=0.1, momentum=0.9), steps=2)
    optimizer.lr = 0.025
    other = mg.optim.SGD(make_params(), lr=0.1, momentum=0.9)
    other.load_state_dict(optimizer.state_dict())
    assert other.lr == 0.025


def _adam_after_steps(params=None, **options):
    _, _, optimizer = run_minigrad(lambda p: mg.optim.Adam(p, lr=0.01, **options), steps=2,
                                   params=params)
    return optimizer.state_dict()


def test_load_rejects_a_different_number_of_parameters():
    saved = _adam_after_steps()
    optimizer = mg.optim.Adam(make_params()[:3])
    with pytest.raises(ValueError, match=r"parameter group 0 has 4 parameter\(s\) in the state "
                                         r"dict, 3 in this optimizer"):
        optimizer.load_state_dict(saved)


def test_load_rejects_a_different_number_of_groups():
    saved = _adam_after_steps()
    params = make_params()
    optimizer = mg.optim.Adam([{"params": params[:2]}, {"params": params[2:]}])
    with pytest.raises(ValueError, match=r"state dict has 1 parameter group\(s\), this "
                                         r"optimizer has 2"):
        optimizer.load_state_dict(saved)


def test_load_rejects_a_state_of_the_wrong_shape_and_changes_nothing():
    saved = _adam_after_steps()
    params = make_params()
    params[0], params[2] = (mg.nn.Parameter(mg.zeros(4, 5, dtype="float64")),
                            mg.nn.Parameter(mg.zeros(2, 4, dtype="float64")))
    optimizer = mg.optim.Adam(params, lr=0.5)
    with pytest.raises(ValueError, match=r"'exp_avg' of parameter 0 has shape \(5, 4\), but the "
                                         r"parameter has shape \(4, 5\)"):
        optimizer.load_state_dict(saved)
    assert optimizer.state == {} and optimizer.lr == 0.5


def test_load_rejects_the_state_of_another_optimizer():
    saved = _adam_after_steps()
    optimizer = mg.optim.SGD(make_params(), lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"option\(s\) 'amsgrad', 'betas', 'eps' that SGD does "
                                         r"not have"):
        optimizer.load_state_dict(saved)


def test_load_rejects_state_keys_of_other_options():
    saved = _adam_after_steps()                                # without amsgrad
    saved["param_groups"][0]["amsgrad"] = True
    with pytest.raises(ValueError, match=r"the state of parameter 0 has keys \['exp_avg', "
                                         r"'exp_avg_sq', 'step'\], Adam with these options "
                                         r"expects \['exp_avg', 'exp_avg_sq', 'max_exp_avg_sq', "
                                         r"'step'\]"):
        mg.optim.Adam(make_params()).load_state_dict(saved)


def test_load_rejects_something_that_is_not_a_state_dict():
    with pytest.raises(ValueError, match="the state dict has no 'state' entry"):
        mg.optim.Adam(make_params()).load_state_dict({"exp_avg": np.zeros(3)})


# --- parameters without gradients ------------------------------------------------------------

@pytest.mark.parametrize("make", [FULL_OPTIONS["sgd_nesterov"], FULL_OPTIONS["adamw_amsgrad"],
                                  FULL_OPTIONS["adam_global_clipnorm"],
                                  lambda p: mg.optim.AdamW(p, lr=0.1, weight_decay=0.5)])
def test_parameters_without_gradient_are_skipped(make, device):
    params = make_params(device=device)
    optimizer = make(params)
    frozen = params[1]
    before = frozen.numpy().copy()
    for _ in range(3):
        compute_grads(params, device=device)
        frozen.grad = None
        optimizer.step()
    np.testing.assert_array_equal(frozen.numpy(), before)     # not even weight decay
    assert frozen.grad is None
    assert id(frozen) not in optimizer.state
    assert sorted(optimizer.state_dict()["state"]) == [0, 2, 3]


def test_frozen_parameter_later_gets_its_state_at_its_first_gradient():
    params = make_params()
    optimizer = mg.optim.Adam(params, lr=0.01)
    for step in range(3):
        compute_grads(params)
        if step < 2:
            params[0].grad = None
        optimizer.step()
    assert optimizer.state[id(params[0])]["step"] == 1
    assert optimizer.state[id(params[1])]["step"] == 3


def test_step_leaves_the_gradients_unchanged_even_when_clipping():
    params = make_params()
    optimizer = mg.optim.SGD(params, lr=0.1, clipvalue=1e-3, weight_decay=0.1, momentum=0.9)
    compute_grads(params)
    grads = [p.grad.numpy().copy() for p in params]
    optimizer.step()
    for p, g in zip(params, grads):
        np.testing.assert_array_equal(p.grad.numpy(), g)


def test_zero_grad_sets_to_none_or_zeros_in_place():
    params = make_params()
    optimizer = mg.optim.SGD(params)
    compute_grads(params)
    grad = params[0].grad
    optimizer.zero_grad(set_to_none=False)
    assert params[0].grad is grad and not grad.numpy().any()
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)


def test_updates_are_in_place_on_the_modules_parameters():
    model = mg.nn.Dense(3)
    model(mg.ones(2, 4))
    kernel = model.kernel if hasattr(model, "kernel") else next(model.parameters())
    array = kernel.data
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    (model(mg.ones(2, 4)) ** 2).sum().backward()
    before = array.copy()
    optimizer.step()
    assert kernel.data is array and not np.array_equal(array, before)


# --- making optimizers -----------------------------------------------------------------------

@pytest.mark.parametrize("name, cls, lr", [("sgd", "SGD", 0.01), ("Adam", "Adam", 0.001),
                                           ("ADAMW", "AdamW", 0.001),
                                           ("RMSprop", "RMSprop", 0.001),
                                           ("adagrad", "Adagrad", 0.001)])
def test_get_by_name_has_keras_default_learning_rates(name, cls, lr):
    optimizer = mg.optim.get(name)
    assert type(optimizer).__name__ == cls and optimizer.lr == lr
    assert optimizer.param_groups == []


def test_get_passes_options_and_parameters():
    params = make_params()
    optimizer = mg.optim.get("sgd", params, learning_rate=0.5, momentum=0.9)
    assert optimizer.lr == 0.5 and optimizer.param_groups[0]["momentum"] == 0.9
    assert all(a is b for a, b in zip(optimizer.param_groups[0]["params"], params))


def test_get_config_round_trip():
    optimizer = mg.optim.Adam(lr=0.02, betas=(0.8, 0.9), amsgrad=True, clipnorm=1.0)
    config = json.loads(json.dumps({"class_name": "Adam", "config": optimizer.get_config()}))
    again = mg.optim.get(config)
    assert type(again) is mg.optim.Adam and again.get_config() == optimizer.get_config()
    assert again.defaults["betas"] == (0.8, 0.9) and again.clipnorm == 1.0


def test_get_returns_an_optimizer_and_attaches_parameters_to_it():
    optimizer = mg.optim.SGD(lr=0.1)
    params = make_params()
    assert mg.optim.get(optimizer, params) is optimizer
    assert len(optimizer.param_groups[0]["params"]) == 4
    with pytest.raises(ValueError, match="already has them"):
        mg.optim.get(optimizer, params)


def test_optimizer_made_without_parameters_gets_them_later():
    optimizer = mg.optim.Adam(learning_rate=0.01)
    with pytest.raises(RuntimeError, match="Adam has no parameters to update; pass them when "
                                           "making it or with add_param_group"):
        optimizer.step()
    params = make_params()
    optimizer.add_param_group(params)
    trajectory, _, _ = run_minigrad(None, steps=3, params=params, optimizer=optimizer)
    reference, _, _ = run_minigrad(lambda p: mg.optim.Adam(p, lr=0.01), steps=3)
    np.testing.assert_array_equal(trajectory[-1][0], reference[-1][0])


def test_learning_rate_is_a_settable_property_of_every_group():
    params = make_params()
    optimizer = mg.optim.SGD([{"params": params[:2], "lr": 0.5}, {"params": params[2:]}],
                             lr=0.1)
    assert optimizer.lr == 0.5
    assert [g["lr"] for g in optimizer.param_groups] == [0.5, 0.1]
    optimizer.lr = 0.01
    assert [g["lr"] for g in optimizer.param_groups] == [0.01, 0.01]
    optimizer.learning_rate = 0.02
    assert optimizer.lr == optimizer.learning_rate == 0.02
    with pytest.raises(ValueError, match="SGD expected a learning rate lr >= 0, got -1.0"):
        optimizer.lr = -1.0


def test_hyperparameters_do_not_promote_float32(device):
    params = make_params("float32", device)
    optimizer = mg.optim.Adam(params, lr=np.float64(0.01), betas=(np.float64(0.9), 0.99))
    compute_grads(params, "float32", device)
    optimizer.step()
    assert all(p.dtype == mg.float32 for p in params)
    assert type(optimizer.lr) is float


# --- errors ----------------------------------------------------------------------------------

def test_unknown_optimizer_name():
    with pytest.raises(ValueError, match="unknown optimizer 'adma'; expected one of adagrad, "
                                         "adam, adamw, rmsprop, sgd"):
        mg.optim.get("adma")
    with pytest.raises(TypeError, match="get\\(\\) expected an optimizer name, config dict or "
                                        "optimizer, got int"):
        mg.optim.get(3)


@pytest.mark.parametrize("cls", ["SGD", "Adagrad", "RMSprop", "Adam", "AdamW"])
def test_negative_learning_rate(cls):
    with pytest.raises(ValueError, match=f"{cls} expected a learning rate lr >= 0, got -0.1"):
        getattr(mg.optim, cls)(make_params(), lr=-0.1)
    with pytest.raises(ValueError, match=f"{cls} expected a learning rate lr >= 0, got -0.1"):
        getattr(mg.optim, cls)([{"params": make_params(), "lr": -0.1}])


def test_empty_parameter_list():
    with pytest.raises(ValueError, match="Adam got an empty parameter list"):
        mg.optim.Adam([])


def test_empty_parameter_list_of_a_lazy_model_says_to_build_it():
    model = mg.Sequential([mg.nn.Dense(8, activation="relu"), mg.nn.Dense(2)])
    with pytest.raises(ValueError) as error:
        mg.optim.Adam(model.parameters())
    message = str(error.value)
    assert message.startswith("Adam got an empty parameter list. If it came from "
                              "model.parameters() right after making the model: the model has "
                              "no weights yet, because layers create them on their first call.")
    assert "Call model.build(input_shape) first (with the batch axis, e.g. " \
           "model.build((None, 784))) or run the model on one batch" in message
    model.build((None, 784))
    optimizer = mg.optim.Adam(model.parameters())
    assert [p.shape for p in optimizer.param_groups[0]["params"]] == [(784, 8), (8,), (8, 2), (2,)]


def test_parameters_that_are_not_parameters():
    with pytest.raises(TypeError, match="SGD expected Parameters, got ndarray at position 1"):
        mg.optim.SGD([make_params()[0], np.zeros(3)])
    with pytest.raises(TypeError, match="got Dense \\(pass model.parameters\\(\\), not the "
                                        "model\\)"):
        mg.optim.SGD(mg.nn.Dense(3))
    with pytest.raises(TypeError, match="got a single Parameter; wrap it in a list"):
        mg.optim.SGD(make_params()[0])
    with pytest.raises(TypeError, match="expected an iterable of Parameters, got float"):
        mg.optim.SGD(0.1)


def test_a_computed_tensor_is_not_a_parameter():
    w = make_params()[0]
    with pytest.raises(ValueError, match="can only optimize leaf tensors"):
        mg.optim.SGD([w * 2])


def test_a_parameter_in_two_places():
    params = make_params()
    with pytest.raises(ValueError, match="a parameter appears more than once"):
        mg.optim.SGD(params + params[:1])
    with pytest.raises(ValueError, match="a parameter appears more than once"):
        mg.optim.SGD([{"params": params}, {"params": params[:1]}])


@pytest.mark.parametrize("make, message", [
    (lambda p: mg.optim.SGD(p, nesterov=True), "SGD with nesterov=True needs momentum > 0"),
    (lambda p: mg.optim.SGD(p, momentum=-0.5), "SGD expected momentum >= 0, got -0.5"),
    (lambda p: mg.optim.Adam(p, betas=(0.9, 1.0)), r"Adam expected betas = \(beta1, beta2\), "
                                                   r"each in \[0, 1\), got \(0.9, 1.0\)"),
    (lambda p: mg.optim.AdamW(p, eps=-1e-8), "AdamW expected eps >= 0, got -1e-08"),
    (lambda p: mg.optim.RMSprop(p, alpha=1.5), r"RMSprop expected alpha in \[0, 1\), got 1.5"),
    (lambda p: mg.optim.Adagrad(p, lr_decay=-1), "Adagrad expected lr_decay >= 0, got -1"),
    (lambda p: mg.optim.Adam(p, clipnorm=1.0, clipvalue=0.5),
     "Adam: only one of clipnorm, clipvalue and global_clipnorm can be set, got clipnorm and "
     "clipvalue"),
    (lambda p: mg.optim.SGD(p, clipnorm=0), r"SGD expected clipnorm > 0 \(or None\), got 0"),
    (lambda p: mg.optim.Adam(p, lr=0.1, learning_rate=0.2),
     "Adam got both lr=0.1 and learning_rate=0.2"),
    (lambda p: mg.optim.Adam([{"params": p, "momentum": 0.9}]),
     "Adam has no option 'momentum'; its options are amsgrad, betas, eps, lr, weight_decay"),
])
def test_bad_options_are_named(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make(make_params())


def test_gradient_of_the_wrong_shape():
    params = make_params()
    optimizer = mg.optim.SGD(params)
    compute_grads(params)
    params[1].grad = mg.zeros(3, dtype="float64")
    with pytest.raises(ValueError, match=r"a parameter of shape \(4,\) has a gradient of shape "
                                         r"\(3,\)"):
        optimizer.step()


def test_state_follows_the_parameters_to_another_dtype():
    model = mg.Sequential([mg.nn.Dense(3, input_shape=(2,))])
    optimizer = mg.optim.Adam(model.parameters(), lr=0.01)
    for dtype in ("float32", "float64"):
        model.to(dtype)
        optimizer.zero_grad()
        model(mg.ones(4, 2, dtype=dtype)).sum().backward()
        optimizer.step()
        for state in optimizer.state.values():
            assert state["exp_avg"].dtype == np.dtype(dtype)
