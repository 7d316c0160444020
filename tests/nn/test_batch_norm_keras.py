"""BatchNormalization where Keras and PyTorch part ways: a batch of one sample (Keras trains on
it: variance 0, the output is beta; PyTorch refuses) and masked inputs (Keras takes the batch
statistics over the real steps). Compared with Keras 3 (torch backend) on the same weights and
data where Keras is installed."""

import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.testing import gradcheck

MASK = np.array([[1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


def random(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def weights(features, seed=1):
    """gamma, beta, moving_mean, moving_variance (positive variance)."""
    rng = np.random.default_rng(seed)
    return [(rng.random(features) + 0.5).astype(np.float32) for _ in range(4)]


def pair(keras, shape):
    """A built minigrad layer and Keras layer with the same random weights."""
    ours, theirs = nn.BatchNormalization(), keras.layers.BatchNormalization()
    ours.build(shape)
    theirs.build((None, *shape[1:]))
    ours.set_weights(weights(shape[-1]))
    theirs.set_weights(weights(shape[-1]))
    return ours, theirs


# --- a batch of one sample -------------------------------------------------------------------

def test_one_sample_in_training_gives_beta_and_moves_the_variance_to_zero():
    layer = nn.BatchNormalization(momentum=0.5)
    x = mg.tensor(random((1, 4)), requires_grad=True)
    layer.build(tuple(x.shape))
    gamma, beta, mean, var = weights(4)
    layer.set_weights([gamma, beta, mean, var])
    out = layer(x)
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(beta, (1, 4)), rtol=1e-6)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.5 * var, rtol=1e-6)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * mean + 0.5 * x.numpy()[0],
                               rtol=1e-6)
    (out * mg.tensor(random((1, 4), seed=3))).sum().backward()
    assert np.all(x.grad.numpy() == 0)  # the output does not depend on x
    assert np.all(layer.gamma.grad.numpy() == 0)


def test_one_sample_matches_keras():
    keras = keras_or_skip()
    x = random((1, 4))
    ours, theirs = pair(keras, (1, 4))
    np.testing.assert_allclose(ours(mg.tensor(x)).numpy(),
                               keras.ops.convert_to_numpy(theirs(x, training=True)), rtol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def bn_model(lib):
    if lib == "minigrad":
        model = mg.Sequential([nn.Dense(4), nn.BatchNormalization(), nn.Dense(1)])
        model(mg.zeros(2, 3))
        return model
    k = lib.layers
    return lib.Sequential([lib.Input((3,)), k.Dense(4), k.BatchNormalization(), k.Dense(1)])


def test_fit_with_a_last_batch_of_one_sample_matches_keras():
    """9 samples in batches of 4: the last batch holds one (this crashed before)."""
    keras = keras_or_skip()
    model, reference = bn_model("minigrad"), bn_model(keras)
    reference.set_weights(model.get_weights())
    x, y = random((9, 3)), random((9, 1), seed=2)
    model.compile(optimizer="sgd", loss="mse")
    reference.compile(optimizer="sgd", loss="mse")
    ours = model.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0).history["loss"]
    theirs = reference.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    np.testing.assert_allclose(ours, theirs.history["loss"], rtol=1e-5)
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_fit_with_a_last_batch_of_one_sample_runs_without_keras():
    model = bn_model("minigrad")
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(random((5, 3)), random((5, 1)), batch_size=4, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))


# --- masked statistics -------------------------------------------------------------------------

def masked_moments(x, mask):
    w = mask[..., None].astype(np.float64)
    count = w.sum() + 1e-7
    mean = (x * w).sum(axis=(0, 1)) / count
    var = (w * (x - mean) ** 2).sum(axis=(0, 1)) / count
    return mean, var


def test_masked_statistics_are_those_of_the_real_steps():
    x = random((3, 5, 4)).astype(np.float64)
    out = mg.batch_norm(mg.tensor(x), None, None, None, None, training=True, epsilon=0.0,
                        mask=MASK)
    mean, var = masked_moments(x, MASK)
    np.testing.assert_allclose(out.numpy(), (x - mean) / np.sqrt(var), rtol=1e-9)
    # The padded steps would move the statistics (so the check can fail).
    assert np.abs(x.mean(axis=(0, 1)) - mean).max() > 1e-2


def test_masked_statistics_update_the_moving_ones():
    x = random((3, 5, 4))
    layer = nn.BatchNormalization(momentum=0.0)
    layer(mg.tensor(x), mask=mg.tensor(MASK))
    mean, var = masked_moments(x.astype(np.float64), MASK)
    np.testing.assert_allclose(layer.moving_mean.numpy(), mean, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(layer.moving_variance.numpy(), var, rtol=1e-5)


def test_evaluation_ignores_the_mask():
    layer = nn.BatchNormalization()
    x = mg.tensor(random((3, 5, 4)))
    layer(x)
    layer.eval()
    np.testing.assert_array_equal(layer(x, mask=mg.tensor(MASK)).numpy(), layer(x).numpy())


def test_masked_batch_norm_gradients_float64():
    rng = np.random.default_rng(4)
    x = mg.tensor(rng.standard_normal((3, 5, 4)), requires_grad=True)
    gamma = mg.tensor(rng.random(4) + 0.5, requires_grad=True)
    beta = mg.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda a, g, b: mg.batch_norm(a, g, b, None, None, training=True,
                                                   mask=MASK), x, gamma, beta)
    # A mask of real steps only, and one beside a channels-first input (features on axis 1).
    assert gradcheck(lambda a, g, b: mg.batch_norm(a, g, b, None, None, training=True,
                                                   mask=np.ones((3, 5), bool)), x, gamma, beta)
    xc = mg.tensor(rng.standard_normal((3, 4, 5)), requires_grad=True)
    assert gradcheck(lambda a, g, b: mg.batch_norm(a, g, b, None, None, training=True, axis=1,
                                                   mask=MASK), xc, gamma, beta)


def test_one_sample_gradients_float64():
    rng = np.random.default_rng(5)
    x = mg.tensor(rng.standard_normal((1, 4)), requires_grad=True)
    gamma = mg.tensor(rng.random(4) + 0.5, requires_grad=True)
    beta = mg.tensor(rng.standard_normal(4), requires_grad=True)
    assert gradcheck(lambda a, g, b: mg.batch_norm(a, g, b, None, None, training=True),
                     x, gamma, beta)


def test_masked_batch_norm_matches_keras_with_gradients():
    keras = keras_or_skip()
    import torch

    x = random((3, 5, 4))
    ours, theirs = pair(keras, (3, 5, 4))
    xt = torch.tensor(x, requires_grad=True)
    upstream = random((3, 5, 4), seed=7)
    out_theirs = theirs(xt, training=True, mask=torch.tensor(MASK))
    (out_theirs * torch.tensor(upstream)).sum().backward()
    xm = mg.tensor(x, requires_grad=True)
    out_ours = ours(xm, mask=mg.tensor(MASK))
    (out_ours * mg.tensor(upstream)).sum().backward()
    np.testing.assert_allclose(out_ours.numpy(), out_theirs.detach().numpy(), rtol=1e-5,
                               atol=1e-6)
    np.testing.assert_allclose(xm.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.gamma.grad.numpy(), theirs.gamma.value.grad.numpy(),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ours.beta.grad.numpy(), theirs.beta.value.grad.numpy(),
                               rtol=1e-5, atol=1e-5)
    for a, b in zip(ours.get_weights()[2:], theirs.get_weights()[2:]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_a_mask_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match=r"the mask must have the input's shape without the "
                                         r"feature axis, \(3, 5\) .*got \(3, 4\)"):
        mg.batch_norm(mg.zeros(3, 5, 4), None, None, None, None, training=True,
                      mask=np.ones((3, 4), bool))
