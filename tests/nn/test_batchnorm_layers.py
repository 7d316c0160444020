"""BatchNormalization as a layer: weights and buffers, train vs eval behaviour, agreement with
torch.nn.BatchNorm2d over several steps, config round trip, bad inputs."""

import json

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_batchnorm_builds_gamma_beta_and_moving_statistics():
    layer = nn.BatchNormalization()
    y = layer(mg.randn(4, 3, 3, 5))
    assert y.shape == (4, 3, 3, 5) and layer.output_shape == (None, 3, 3, 5)
    assert [name for name, _ in layer.named_parameters()] == ["gamma", "beta"]
    assert [name for name, _ in layer.named_buffers()] == ["moving_mean", "moving_variance"]
    assert list(layer.state_dict()) == ["gamma", "beta", "moving_mean", "moving_variance"]
    np.testing.assert_array_equal(layer.gamma.numpy(), 1)
    assert not layer.moving_mean.requires_grad


def test_batchnorm_normalizes_in_training_and_uses_the_moving_statistics_in_eval():
    layer = nn.BatchNormalization(momentum=0.5, epsilon=0.0)
    x = mg.randn(64, 4) * 3 + 2
    out = layer(x).numpy()
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.5 * x.numpy().mean(axis=0),
                               rtol=1e-5)
    layer.eval()
    moving = layer.moving_mean.numpy().copy(), layer.moving_variance.numpy().copy()
    expected = (x.numpy() - moving[0]) / np.sqrt(moving[1])
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), moving[0])


def test_batchnorm_matches_torch_batchnorm2d_over_training_steps_and_in_eval():
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    rng = np.random.default_rng(0)
    layer = nn.BatchNormalization(momentum=0.9, epsilon=1e-5, dtype="float64")
    reference = torch.nn.BatchNorm2d(3, momentum=0.1, eps=1e-5).double()

    def channels_first(x):
        return torch.tensor(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    for step in range(3):
        x = rng.standard_normal((8, 5, 4, 3)) * (step + 1) + step
        ours = layer(mg.tensor(x)).numpy()
        theirs = reference(channels_first(x)).detach().numpy()
        np.testing.assert_allclose(ours, theirs.transpose(0, 2, 3, 1), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(layer.moving_mean.numpy(), reference.running_mean.numpy(),
                               rtol=1e-12)
    layer.eval(), reference.eval()
    # PyTorch's running variance uses the unbiased batch variance; put ours in its place to
    # compare the evaluation formulas themselves.
    layer.moving_variance.data[...] = reference.running_var.numpy()
    x = rng.standard_normal((2, 5, 4, 3))
    theirs = reference(channels_first(x)).detach().numpy()
    np.testing.assert_allclose(layer(mg.tensor(x)).numpy(), theirs.transpose(0, 2, 3, 1),
                               rtol=1e-9)


def test_a_frozen_batchnorm_runs_in_inference_mode_as_in_keras():
    layer = nn.BatchNormalization(trainable=False)
    x = mg.randn(16, 2) + 5
    np.testing.assert_allclose(layer(x).numpy(), x.numpy() / np.sqrt(1 + 1e-3), rtol=1e-6)
    np.testing.assert_array_equal(layer.moving_mean.numpy(), 0)
    assert all(not p.requires_grad for p in layer.parameters())


def test_batchnorm_without_center_and_scale_has_no_weights():
    layer = nn.BatchNormalization(center=False, scale=False)
    layer(mg.randn(4, 3))
    assert list(layer.parameters()) == []
    assert layer.count_params() == 0


def test_batchnorm_gradients_check_numerically_in_training():
    layer = nn.BatchNormalization(axis=1, dtype="float64")
    x = mg.randn(4, 3, 2, dtype="float64", requires_grad=True)
    layer(x)
    assert mg.testing.gradcheck(lambda inp, g, b: layer(inp) ** 2, x, layer.gamma, layer.beta)


def test_batchnorm_follows_the_module_to_float64():
    layer = nn.BatchNormalization()
    layer(mg.randn(4, 3))
    layer.to("float64")
    assert layer.moving_mean.dtype == "float64" and layer.gamma.dtype == "float64"
    assert layer(mg.randn(4, 3, dtype="float64")).dtype == "float64"


def test_batchnorm_config_round_trips_through_json():
    layer = nn.BatchNormalization(axis=1, momentum=0.9, epsilon=1e-5, center=False,
                                  gamma_initializer="zeros")
    config = json.loads(json.dumps(layer.get_config()))
    rebuilt = nn.BatchNormalization.from_config(config)
    assert rebuilt.get_config() == layer.get_config()
    rebuilt(mg.randn(4, 3, 2))
    np.testing.assert_array_equal(rebuilt.gamma.numpy(), 0)


def test_batchnorm_names_the_features_it_expects():
    layer = nn.BatchNormalization()
    layer(mg.randn(2, 4, 4, 3))
    with pytest.raises(ValueError, match=r"expected input with 3 features along axis -1, got "
                                         r"shape \(2, 3, 4, 4\)"):
        layer(mg.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r"features along axis 0"):
        nn.BatchNormalization(axis=0)(mg.randn(2, 3))
    with pytest.raises(ValueError, match="momentum must be in"):
        nn.BatchNormalization(momentum=1.5)
