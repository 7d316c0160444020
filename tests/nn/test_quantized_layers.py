"""Quantized layers (minigrad.nn.layers.quantized): the per-channel int8 arithmetic, and each
layer computing what its float layer computes with the dequantized weights."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import nn
from minigrad.nn.layers.quantized import (QUANTIZED_CLASSES, dequantize_per_channel,
                                          quantize_per_channel)

RNG = np.random.default_rng(0)


def reference_scales(weights, axis):
    """max |w| / 127.5 per channel along ``axis``, computed in float64 (NumPy)."""
    moved = np.moveaxis(np.asarray(weights, np.float64), axis, 0).reshape(
        weights.shape[axis], -1)
    return np.abs(moved).max(axis=1) / 127.5


@settings(max_examples=60, deadline=None)
@given(weights=hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=4, max_side=6),
                          elements=st.floats(-100, 100, width=32)),
       axis_seed=st.integers(0, 3))
def test_quantization_error_is_at_most_half_a_step_per_channel(weights, axis_seed):
    axis = axis_seed % weights.ndim
    values, scales = quantize_per_channel(weights, axis)
    assert values.dtype == np.int8 and values.shape == weights.shape
    assert scales.dtype == np.float32 and scales.shape == (weights.shape[axis],)
    restored = dequantize_per_channel(values, scales, axis, np.float32)
    step = np.expand_dims(scales, [a for a in range(weights.ndim) if a != axis])
    error = np.abs(weights.astype(np.float64) - restored)
    rounding = 1e-6 * np.abs(weights)  # float32's rounding of the scale, times up to 128
    assert np.all(error <= step / 2 + rounding)


def test_scales_per_channel_equal_a_numpy_reference():
    weights = RNG.normal(size=(7, 5, 3)).astype(np.float32)
    for axis in range(3):
        _, scales = quantize_per_channel(weights, axis)
        np.testing.assert_allclose(scales, reference_scales(weights, axis), rtol=1e-6)


def test_the_largest_weight_of_each_channel_uses_the_whole_range():
    weights = RNG.normal(size=(50, 6)).astype(np.float32)
    values, _ = quantize_per_channel(weights, axis=1)
    assert np.all(np.abs(values.astype(int)).max(axis=0) >= 127)
    assert values.min() >= -128 and values.max() <= 127


def test_an_all_zero_channel_stays_zero():
    weights = np.zeros((4, 3), np.float32)
    weights[:, 1] = [1, -2, 3, 0.5]
    values, scales = quantize_per_channel(weights, axis=1)
    assert np.all(values[:, [0, 2]] == 0) and scales[0] > 0
    np.testing.assert_array_equal(dequantize_per_channel(values, scales, 1, np.float32)[:, 0], 0)


def quantized_twin(layer, weight_dtype="int8"):
    """A built quantized copy of the built float ``layer`` with its weights quantized."""
    config = layer.get_config()
    twin = QUANTIZED_CLASSES[type(layer)].from_config({**config, "weight_dtype": weight_dtype})
    state = {name: value.numpy() for name, value in layer.state_dict().items()}
    for name, weight in twin.quantized_weights().items():
        state.update(weight.buffers(state.pop(name), weight_dtype))
    return twin, state


def float_copy_with(layer, twin):
    """A copy of the float ``layer`` whose quantized weights are ``twin``'s, dequantized."""
    copy = type(layer).from_config(layer.get_config())
    return copy, {name: getattr(twin, name).numpy() if name in twin.quantized_weights()
                  else value.numpy() for name, value in layer.state_dict().items()}


CASES = [
    (lambda: nn.Dense(6, activation="relu"), (4, 5), "kernel"),
    (lambda: nn.Conv2D(4, 3, padding="same"), (2, 6, 6, 3), "kernel"),
    (lambda: nn.LSTM(4, return_sequences=True), (3, 5, 2), "kernel"),
    (lambda: nn.GRU(4, reset_after=False), (3, 5, 2), "recurrent_kernel"),
    (lambda: nn.SimpleRNN(4), (3, 5, 2), "kernel"),
]


@pytest.mark.parametrize("weight_dtype", ["int8", "float16"])
@pytest.mark.parametrize("make, shape, weight", CASES)
def test_a_quantized_layer_computes_the_float_layer_with_dequantized_weights(
        make, shape, weight, weight_dtype):
    mg.manual_seed(1)
    x = RNG.normal(size=shape).astype(np.float32)
    layer = make()
    layer(x)
    twin, state = quantized_twin(layer, weight_dtype)
    twin.build((None, *shape[1:]))
    twin.load_state_dict(state)
    assert getattr(twin, f"{weight}_{weight_dtype}").dtype == np.dtype(weight_dtype)
    assert all(not name.endswith("kernel") for name, _ in twin.named_parameters())
    reference, reference_state = float_copy_with(layer, twin)
    reference.build((None, *shape[1:]))
    reference.load_state_dict(reference_state)
    np.testing.assert_allclose(twin(x).numpy(), reference(x).numpy(), rtol=1e-6, atol=1e-6)
    # ... and close to the float layer itself
    tolerance = 0.05 if weight_dtype == "int8" else 2e-3
    np.testing.assert_allclose(twin(x).numpy(), layer(x).numpy(), atol=tolerance)


@pytest.mark.parametrize("weight_dtype", ["int8", "float16"])
def test_quantized_embedding_gathers_rows_then_dequantizes_them(weight_dtype):
    layer = nn.Embedding(20, 6, mask_zero=True)
    ids = np.array([[0, 3, 19, 3], [5, 5, 1, 0]])
    layer(ids)
    twin, state = quantized_twin(layer, weight_dtype)
    twin.build((None, 4))
    twin.load_state_dict(state)
    table = twin.embeddings.numpy()  # the whole table dequantized
    np.testing.assert_array_equal(twin(ids).numpy(), table[ids])
    np.testing.assert_allclose(table, layer.embeddings.numpy(), atol=0.05 / 127)
    np.testing.assert_array_equal(twin.compute_mask(ids).numpy(), ids != 0)
    if weight_dtype == "int8":
        # a scale per column (embedding dimension)
        _, scales = quantize_per_channel(layer.embeddings.numpy(), axis=-1)
        assert scales.shape == (6,)
        np.testing.assert_array_equal(twin.embeddings_scale.numpy(), scales)
    with pytest.raises(IndexError, match="embedding"):
        twin(np.array([[20]]))


def test_per_output_channel_means_units_filters_gate_columns_and_embedding_dims():
    shapes = {}
    for layer, build in [(nn.QuantizedDense(5), (None, 3)),
                         (nn.QuantizedConv2D(7, 3), (None, 8, 8, 2)),
                         (nn.QuantizedLSTM(4), (None, 6, 3)),
                         (nn.QuantizedEmbedding(30, 8), (None, 4))]:
        layer.build(build)
        shapes[type(layer).__name__] = {name: tuple(b.shape) for name, b in
                                        layer.named_buffers() if name.endswith("scale")}
    assert shapes == {"QuantizedDense": {"kernel_scale": (5,)},
                      "QuantizedConv2D": {"kernel_scale": (7,)},
                      "QuantizedLSTM": {"kernel_scale": (16,), "recurrent_kernel_scale": (16,)},
                      "QuantizedEmbedding": {"embeddings_scale": (8,)}}


def test_config_round_trip_keeps_the_weight_dtype_and_is_found_by_name():
    layer = nn.QuantizedGRU(3, weight_dtype="float16", return_sequences=True)
    spec = nn.serialization.serialize(layer)
    assert spec["class_name"] == "QuantizedGRU" and spec["config"]["weight_dtype"] == "float16"
    again = nn.serialization.deserialize(spec)
    assert type(again) is nn.QuantizedGRU and again.weight_dtype == "float16"
    assert again.return_sequences


def test_bidirectional_rebuilds_quantized_recurrent_layers_from_its_config():
    layer = nn.Bidirectional(nn.QuantizedLSTM(3, weight_dtype="int8"), merge_mode="sum")
    again = nn.serialization.deserialize(nn.serialization.serialize(layer))
    assert type(again.forward_layer) is nn.QuantizedLSTM
    assert type(again.backward_layer) is nn.QuantizedLSTM and again.backward_layer.go_backwards


def test_building_from_a_file_claims_the_stored_buffer_shapes():
    with nn.init.allocation_budget([(3, 4), (4,), (4,)]):
        nn.QuantizedDense(4).build((None, 3))  # int8 kernel, scale, bias: what a file holds
    with pytest.raises(nn.init.AllocationBudgetError, match=r"\(3, 4\)"):
        with nn.init.allocation_budget([(4,), (4,)]):
            nn.QuantizedDense(4).build((None, 3))


def test_unknown_weight_dtype_is_an_error_naming_it():
    with pytest.raises(ValueError, match="weight_dtype must be one of 'int8', 'float16', got "
                                         "'int4'"):
        nn.QuantizedDense(4, weight_dtype="int4")


def test_an_unbuilt_quantized_layer_has_no_kernel_yet():
    layer = nn.QuantizedDense(4)
    assert not hasattr(layer, "kernel")
    assert "weight_dtype=int8" in repr(layer)


@pytest.mark.parametrize("weight_dtype", ["int8", "float16"])
def test_to_another_float_dtype_converts_the_computation_not_the_stored_weights(weight_dtype):
    model = mg.Sequential([nn.Dense(4, input_shape=(3,)), nn.Dense(2)])
    small = mg.quantize(model, dtype=weight_dtype)
    stored = {name: b.numpy().copy() for name, b in small.named_buffers()}
    small.to("float64")
    after = dict(small.named_buffers())
    for name, array in stored.items():
        assert after[name].dtype == array.dtype, name  # float16 / int8 / float32 scales kept
        np.testing.assert_array_equal(after[name].numpy(), array)
    x = np.ones((2, 3))
    out = small.predict(x, verbose=0)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, model.predict(x.astype(np.float32), verbose=0),
                               atol=0.05 if weight_dtype == "int8" else 5e-3)
