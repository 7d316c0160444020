"""Dropout's Keras arguments: ``seed`` (a generator of the layer's own: reproducible runs, layers
with different seeds differ) and ``noise_shape`` (one mask shared along the axes of size 1).
Keras 3 (torch backend) is compared where it is installed: bit-equal masks cannot be (the
generators differ), so the structure and the statistics are."""

import copy
import os
import pickle

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.functional.dropout import SeedGenerator
from minigrad.testing import gradcheck


def keras_or_skip():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


def masks(layer, shape, calls, device="cpu"):
    """The kept (True) / dropped pattern of ``calls`` training calls on ones."""
    x = mg.ones(*shape, device=device)
    return [layer(x).numpy() != 0 for _ in range(calls)]


# --- seed ---------------------------------------------------------------------------------------

def test_a_seed_makes_the_masks_reproducible_whatever_else_draws(device):
    first = masks(nn.Dropout(0.5, seed=3), (4, 16), 3, device)
    mg.manual_seed(123)
    mg.randn(100, device=device)            # other draws from the global generator
    mg.functional.dropout(mg.ones(8, device=device), 0.5)
    second = masks(nn.Dropout(0.5, seed=3), (4, 16), 3, device)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    assert not (first[0] == first[1]).all()  # each call draws a new mask


def test_different_seeds_give_different_masks(device):
    a = masks(nn.Dropout(0.5, seed=1), (4, 16), 1, device)[0]
    b = masks(nn.Dropout(0.5, seed=2), (4, 16), 1, device)[0]
    assert not (a == b).all()


def test_without_a_seed_the_global_generator_decides(device):
    mg.manual_seed(5)
    a = masks(nn.Dropout(0.5), (4, 16), 1, device)[0]
    mg.manual_seed(5)
    b = masks(nn.Dropout(0.5), (4, 16), 1, device)[0]
    mg.manual_seed(6)
    c = masks(nn.Dropout(0.5), (4, 16), 1, device)[0]
    np.testing.assert_array_equal(a, b)
    assert not (a == c).all()


def test_two_seeded_runs_of_fit_are_equal():
    def run():
        mg.manual_seed(0)  # the same initial weights
        model = mg.Sequential([nn.Dense(8, activation="relu"), nn.Dropout(0.5, seed=7),
                               nn.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        x = np.random.default_rng(0).standard_normal((16, 3)).astype(np.float32)
        model.build((None, 3))
        mg.manual_seed(99)   # a different global state: only the layer's seed matters
        mg.randn(7)
        return model.fit(x, x[:, :1], batch_size=4, epochs=2, shuffle=False,
                         verbose=0).history["loss"]

    assert run() == run()


def test_a_seeded_layer_copies_and_pickles():
    layer = nn.Dropout(0.5, seed=4)
    masks(layer, (2, 8), 1)
    clone = copy.deepcopy(layer)
    restored = pickle.loads(pickle.dumps(layer))
    # The copies continue the same stream as the original from where it was.
    expected = masks(layer, (2, 8), 1)[0]
    np.testing.assert_array_equal(masks(clone, (2, 8), 1)[0], expected)
    np.testing.assert_array_equal(masks(restored, (2, 8), 1)[0], expected)


def test_a_bad_seed_is_refused():
    with pytest.raises(ValueError, match=r"a seed must be a non-negative int or None, got -1"):
        nn.Dropout(0.5, seed=-1)
    with pytest.raises(ValueError, match=r"got 'x'"):
        nn.Dropout(0.5, seed="x")


# --- noise_shape --------------------------------------------------------------------------------

def test_noise_shape_shares_the_mask_along_axes_of_size_one(device):
    layer = nn.Dropout(0.5, noise_shape=(None, 1, None), seed=0)
    kept = masks(layer, (6, 7, 8), 1, device)[0]
    assert (kept == kept[:, :1, :]).all()
    assert 0 < kept.mean() < 1


def test_noise_shape_values_are_scaled_as_keras(device):
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 3, 5)).astype(np.float32),
                  device=device)
    out = nn.Dropout(0.25, noise_shape=(4, 1, 5), seed=1)(x).numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], x.numpy()[kept] / 0.75, rtol=1e-6)


def test_noise_shape_keeps_the_fraction_one_minus_rate():
    """200 x 64 independent draws (shared along 16 steps): the fraction kept is 0.7 within
    4 standard deviations."""
    kept = masks(nn.Dropout(0.3, noise_shape=(None, 1, None), seed=2), (200, 16, 64), 1)[0]
    n = 200 * 64
    assert abs(kept.mean() - 0.7) < 4 * np.sqrt(0.7 * 0.3 / n)


def test_noise_shape_statistics_match_keras():
    keras = keras_or_skip()
    shape, rate = (200, 16, 64), 0.3
    ours = masks(nn.Dropout(rate, noise_shape=(None, 1, None), seed=3), shape, 1)[0]
    layer = keras.layers.Dropout(rate, noise_shape=(None, 1, None), seed=3)
    theirs = keras.ops.convert_to_numpy(layer(np.ones(shape, np.float32), training=True)) != 0
    for kept in (ours, theirs):
        assert (kept == kept[:, :1, :]).all()   # the same structure
    n = shape[0] * shape[2]
    assert abs(ours.mean() - theirs.mean()) < 6 * np.sqrt(rate * (1 - rate) / n)
    # Per feature, the fraction of samples kept (each an independent draw in both).
    assert abs(ours[:, 0].mean(axis=0).std() - theirs[:, 0].mean(axis=0).std()) < 0.02


def test_keras_noise_shape_with_a_number_of_samples():
    """(N, 1, F) as in Keras's docstring: a number where the batch size is."""
    kept = masks(nn.Dropout(0.5, noise_shape=(5, 1, 3), seed=0), (5, 4, 3), 1)[0]
    assert (kept == kept[:, :1, :]).all()


@pytest.mark.parametrize("noise_shape, message", [
    ((None, 2), r"noise_shape \(None, 2\) does not fit input of shape \(4, 3\)"),
    ((None,), r"noise_shape \(None,\) does not fit input of shape \(4, 3\)"),
])
def test_a_noise_shape_that_does_not_fit_is_refused(noise_shape, message):
    with pytest.raises(ValueError, match=message):
        nn.Dropout(0.5, noise_shape=noise_shape)(mg.ones(4, 3))


def test_a_malformed_noise_shape_is_refused():
    with pytest.raises(ValueError, match="noise_shape must be a tuple of positive ints and None"):
        nn.Dropout(0.5, noise_shape=(None, 0))
    with pytest.raises(ValueError, match="noise_shape must be a tuple of positive ints and None"):
        nn.Dropout(0.5, noise_shape="batch")


def test_evaluation_is_the_identity():
    layer = nn.Dropout(0.5, noise_shape=(None, 1), seed=1)
    layer.eval()
    x = mg.randn(4, 3)
    assert layer(x) is x


def test_noise_shape_gradients_float64():
    x = mg.tensor(np.random.default_rng(1).standard_normal((4, 3, 5)), requires_grad=True)
    # A new generator from the same seed for every evaluation: the same mask each time.
    assert gradcheck(lambda t: mg.functional.dropout(t, 0.4, noise_shape=(None, 1, None),
                                                     generator=SeedGenerator(0)), x)
    assert gradcheck(lambda t: mg.functional.dropout(t, 0.4, generator=SeedGenerator(1)), x)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_dtype_in_is_dtype_out(dtype, device):
    x = mg.randn(4, 6, dtype=dtype, device=device, requires_grad=True)
    out = nn.Dropout(0.5, noise_shape=(None, 1), seed=0)(x)
    out.sum().backward()
    assert out.dtype == dtype and x.grad.dtype == dtype


def test_config_round_trip():
    layer = nn.Dropout(0.2, noise_shape=(None, 1, 8), seed=11)
    config = layer.get_config()
    assert (config["rate"], config["noise_shape"], config["seed"]) == (0.2, [None, 1, 8], 11)
    rebuilt = nn.Dropout.from_config(config)
    assert (rebuilt.noise_shape, rebuilt.seed) == ((None, 1, 8), 11)
    np.testing.assert_array_equal(masks(rebuilt, (2, 3, 8), 1)[0],
                                  masks(nn.Dropout(0.2, noise_shape=(None, 1, 8), seed=11),
                                        (2, 3, 8), 1)[0])


# --- SpatialDropout1D / 2D -----------------------------------------------------------------------

@pytest.mark.parametrize("layer, shape", [(nn.SpatialDropout1D(0.5, seed=0), (4, 6, 8)),
                                          (nn.SpatialDropout2D(0.5, seed=0), (4, 5, 5, 8))],
                         ids=["1d", "2d"])
def test_spatial_dropout_drops_whole_feature_maps(layer, shape, device):
    kept = masks(layer, shape, 1, device)[0]
    first = kept[:, :1] if len(shape) == 3 else kept[:, :1, :1]
    assert (kept == first).all()
    assert 0 < kept.mean() < 1
    assert nn.SpatialDropout1D.supports_masking


def test_spatial_dropout_names_the_shape_it_expects():
    with pytest.raises(ValueError, match=r"expected input of 3 axes \(N, T, C\), got shape "
                                         r"\(4, 6\)"):
        nn.SpatialDropout1D(0.5)(mg.ones(4, 6))
    with pytest.raises(ValueError, match=r"expected input of 4 axes \(N, H, W, C\)"):
        nn.SpatialDropout2D(0.5)(mg.ones(4, 6, 3))


def test_spatial_dropout_config_as_keras():
    config = nn.SpatialDropout2D(0.3, seed=2).get_config()
    assert config["rate"] == 0.3 and config["seed"] == 2 and "noise_shape" not in config
    assert nn.SpatialDropout2D.from_config(config).seed == 2


def test_spatial_dropout_statistics_match_keras():
    keras = keras_or_skip()
    shape, rate = (300, 10, 32), 0.4
    ours = masks(nn.SpatialDropout1D(rate, seed=5), shape, 1)[0]
    layer = keras.layers.SpatialDropout1D(rate, seed=5)
    theirs = keras.ops.convert_to_numpy(layer(np.ones(shape, np.float32), training=True)) != 0
    for kept in (ours, theirs):
        assert (kept == kept[:, :1]).all()
    n = shape[0] * shape[2]
    assert abs(ours.mean() - theirs.mean()) < 6 * np.sqrt(rate * (1 - rate) / n)


def test_a_seed_generator_resumes_from_its_state():
    """What a backup of a training run needs: the layer's stream continues where it was."""
    layer = nn.Dropout(0.5, seed=8)
    masks(layer, (3, 10), 2)
    state = layer.generator.get_state()
    expected = masks(layer, (3, 10), 2)
    resumed = nn.Dropout(0.5, seed=8)
    resumed.generator.set_state(state)
    for a, b in zip(masks(resumed, (3, 10), 2), expected):
        np.testing.assert_array_equal(a, b)
    assert nn.Dropout(0.5, seed=8).generator.get_state() is None
    resumed.generator.set_state(None)   # back to the start of the seed's stream
    np.testing.assert_array_equal(masks(resumed, (3, 10), 1)[0],
                                  masks(nn.Dropout(0.5, seed=8), (3, 10), 1)[0])
