"""``formulas="keras"``: each optimizer against Keras 3's update written out in NumPy (float64,
a learning rate that changes every step, so that the learning rate inside the momentum
buffers shows), and the optimizers that names give (``get("rmsprop")``). Fit against Keras
itself is in ``tests/keras/test_fit_against_keras.py``."""

import json

import numpy as np
import pytest

import minigrad as mg

STEPS = 6
SHAPES = [(3, 4), (4,)]


def _keras_reference(kind, options, weights, grads, rates):
    """Keras 3's optimizers (keras/src/optimizers/*.py, update_step and the base class's
    decoupled weight decay and clipping), one array at a time."""
    weights = [w.copy() for w in weights]
    state = [{} for _ in weights]
    for t, (step_grads, lr) in enumerate(zip(grads, rates), start=1):
        step_grads = [g.copy() for g in step_grads]
        if options.get("clipnorm"):
            c = options["clipnorm"]
            step_grads = [g * c / max(np.linalg.norm(g), c) for g in step_grads]
        if options.get("global_clipnorm"):
            c = options["global_clipnorm"]
            total = np.sqrt(sum((g ** 2).sum() for g in step_grads))
            step_grads = [g * c / max(total, c) for g in step_grads]
        for w, g, s in zip(weights, step_grads, state):
            if options.get("weight_decay"):
                w -= w * options["weight_decay"] * lr
            eps = options.get("eps", 1e-7)
            if kind == "sgd":
                mu = options.get("momentum", 0.0)
                m = s.setdefault("m", np.zeros_like(w))
                m[...] = mu * m - lr * g
                w += mu * m - lr * g if options.get("nesterov") else m
            elif kind == "rmsprop":
                rho, mu = options.get("alpha", 0.9), options.get("momentum", 0.0)
                v = s.setdefault("v", np.zeros_like(w))
                v[...] = rho * v + (1 - rho) * g * g
                denominator = v + eps
                if options.get("centered"):
                    a = s.setdefault("a", np.zeros_like(w))
                    a[...] = rho * a + (1 - rho) * g
                    denominator = v - a * a + eps
                increment = lr * g / np.sqrt(denominator)
                if mu > 0:
                    b = s.setdefault("b", np.zeros_like(w))
                    b[...] = mu * b + increment
                    w -= b
                else:
                    w -= increment
            elif kind == "adagrad":
                acc = s.setdefault("acc", np.full_like(w, options["initial_accumulator_value"]))
                acc += g * g
                w -= lr * g / np.sqrt(acc + eps)
            else:  # adam, adamw
                b1, b2 = options.get("betas", (0.9, 0.999))
                m = s.setdefault("m", np.zeros_like(w))
                v = s.setdefault("v", np.zeros_like(w))
                alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
                m += (g - m) * (1 - b1)
                v += (g * g - v) * (1 - b2)
                if options.get("amsgrad"):
                    v_hat = s.setdefault("v_hat", np.zeros_like(w))
                    v_hat[...] = np.maximum(v_hat, v)
                    v = v_hat
                w -= m * alpha / (np.sqrt(v) + eps)
    return weights


CASES = {
    "sgd": ("sgd", mg.optim.SGD, {}),
    "sgd_momentum_weight_decay": ("sgd", mg.optim.SGD, dict(momentum=0.9, weight_decay=0.1)),
    "sgd_nesterov_clipnorm": ("sgd", mg.optim.SGD, dict(momentum=0.8, nesterov=True,
                                                        clipnorm=0.5)),
    "rmsprop": ("rmsprop", mg.optim.RMSprop, dict(alpha=0.9, eps=1e-2)),
    "rmsprop_centered_momentum": ("rmsprop", mg.optim.RMSprop,
                                  dict(alpha=0.8, eps=1e-3, centered=True, momentum=0.7,
                                       weight_decay=0.05)),
    "adagrad": ("adagrad", mg.optim.Adagrad, dict(eps=1e-2, initial_accumulator_value=0.1)),
    "adam": ("adam", mg.optim.Adam, dict(eps=1e-2, betas=(0.8, 0.95), weight_decay=0.1)),
    "adam_amsgrad_global_clipnorm": ("adam", mg.optim.Adam,
                                     dict(eps=1e-3, amsgrad=True, global_clipnorm=1.0)),
    "adamw": ("adam", mg.optim.AdamW, dict(eps=1e-3, weight_decay=0.2)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_formulas_match_keras_updates(case):
    kind, cls, options = CASES[case]
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=shape) for shape in SHAPES]
    grads = [[rng.normal(size=shape) * 2 for shape in SHAPES] for _ in range(STEPS)]
    rates = [0.1 * 0.7 ** t for t in range(STEPS)]  # as a schedule or callback would set it
    params = [mg.nn.Parameter(mg.tensor(w, dtype="float64")) for w in weights]
    optimizer = cls(params, lr=rates[0], formulas="keras", **options)
    for step_grads, lr in zip(grads, rates):
        optimizer.lr = lr
        for p, g in zip(params, step_grads):
            p.grad = mg.tensor(g, dtype="float64")
        optimizer.step()
    expected = _keras_reference(kind, options, weights, grads, rates)
    for p, w in zip(params, expected):
        np.testing.assert_allclose(p.numpy(), w, rtol=1e-12, atol=1e-14)
    pytorch = cls([mg.nn.Parameter(mg.tensor(w, dtype="float64")) for w in weights],
                  lr=rates[0], **options)
    assert pytorch.formulas == "pytorch"  # the default; tested against torch.optim elsewhere


@pytest.mark.parametrize("name, options", [
    ("sgd", dict(lr=0.01)),
    ("adam", dict(lr=0.001, eps=1e-7)),
    ("adamw", dict(lr=0.001, eps=1e-7, weight_decay=0.004)),
    ("rmsprop", dict(lr=0.001, alpha=0.9, eps=1e-7)),
    ("adagrad", dict(lr=0.001, eps=1e-7, initial_accumulator_value=0.1)),
])
def test_a_name_gives_kerass_optimizer(name, options):
    optimizer = mg.optim.get(name)
    assert optimizer.formulas == "keras"
    for key, value in options.items():
        assert optimizer.defaults[key] == value, key
    assert mg.optim.get(name, learning_rate=0.5).lr == 0.5
    assert mg.optim.get(name, formulas="pytorch").formulas == "pytorch"


def test_formulas_survive_get_config_and_files_without_it_stay_pytorch():
    optimizer = mg.optim.get("rmsprop")
    config = json.loads(json.dumps({"class_name": "RMSprop", "config": optimizer.get_config()}))
    again = mg.optim.get(config)
    assert again.formulas == "keras" and again.get_config() == optimizer.get_config()
    plain = mg.optim.RMSprop(lr=0.01)
    assert "formulas" not in plain.get_config()
    assert mg.optim.get({"class_name": "RMSprop", "config": plain.get_config()}).formulas == \
        "pytorch"


def test_unknown_formulas_is_an_error():
    with pytest.raises(ValueError, match="Adam expected formulas='pytorch' or 'keras', got "
                                         "'tensorflow'"):
        mg.optim.Adam(formulas="tensorflow")
