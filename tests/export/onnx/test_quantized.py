"""ONNX export of quantized models (mg.quantize): int8 initializers with a per-channel
DequantizeLinear (float16 ones with a Cast) feeding the float operators; onnxruntime gives what
the quantized model's ``predict`` gives, and the file is about 4x smaller."""

import numpy as np
import pytest

from .helpers import TOLERANCE, onnx, ort, randomize, vectors

import minigrad as mg  # noqa: E402  (after helpers: skipped without the onnx extra)
from minigrad import nn  # noqa: E402
from minigrad.export.onnx import quantized as quantized_export  # noqa: E402

IDS = [np.array([[0, 0, 3, 9, 29, 1, 2], [5, 6, 7, 8, 9, 10, 0], [1, 2, 3, 4, 5, 6, 7],
                 [0, 0, 0, 0, 0, 0, 4]]),
       np.array([[4, 5, 0, 0], [1, 0, 0, 0]])]   # another batch size and length, post-padded


def session(proto, optimized=False):
    """onnxruntime on ``proto``; without ``optimized`` only its basic graph rewrites, so that
    DequantizeLinear -> MatMul runs as written (its extended level fuses them into integer
    kernels that quantize the activations too, as PyTorch's quantize_dynamic does)."""
    options = ort.SessionOptions()
    if not optimized:
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    return ort.InferenceSession(proto.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


def assert_quantized_export(model, batches, opset=17):
    """The export passes the full check, holds int8 (or float16) initializers for the quantized
    weights, and onnxruntime equals ``model.predict`` within 1e-5 on each batch."""
    proto = mg.onnx.export(model, None, opset=opset)
    onnx.checker.check_model(proto, full_check=True)
    run = session(proto)
    for batch in batches:
        got = run.run(None, {"input": batch})[0]
        expected = model.predict(batch, verbose=0)
        assert got.shape == expected.shape and got.dtype == expected.dtype
        assert np.max(np.abs(got - expected)) <= TOLERANCE
    return proto


def built(model, shape):
    model.build(shape)
    return model


def text_model(recurrent, **options):
    mg.manual_seed(3)
    return randomize(built(mg.Sequential([nn.Embedding(30, 6, mask_zero=True),
                                          nn.Bidirectional(recurrent(5, **options)),
                                          nn.Dense(3)]), (None, 7)))


MODELS = {
    "mlp": (lambda: randomize(mg.Sequential([nn.Dense(16, activation="relu", input_shape=(12,)),
                                             nn.Dense(4, activation="softmax")])),
            [vectors(5, 12), vectors(1, 12, seed=2)]),
    "cnn": (lambda: randomize(mg.Sequential([
        nn.Conv2D(4, 3, strides=2, padding="same", activation="relu", input_shape=(9, 9, 2)),
        nn.Conv2D(3, 2, groups=1), nn.Flatten(), nn.Dense(2)])),
        [vectors(3, 9, 9, 2), vectors(1, 9, 9, 2, seed=2)]),
    "bilstm": (lambda: text_model(nn.LSTM), IDS),
    "bigru": (lambda: text_model(nn.GRU, return_sequences=True), IDS),
    "bigru_reset_before": (lambda: text_model(nn.GRU, reset_after=False), IDS),
    "birnn": (lambda: text_model(nn.SimpleRNN), IDS),
    "lstm_backwards": (lambda: randomize(built(mg.Sequential([
        nn.LSTM(4, go_backwards=True, return_sequences=True)]), (None, 5, 3))),
        [vectors(2, 5, 3), vectors(3, 2, 3, seed=2)]),
}


@pytest.mark.parametrize("dtype", ["int8", "float16"])
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_onnxruntime_equals_the_quantized_models_predict(kind, dtype):
    make, batches = MODELS[kind]
    small = mg.quantize(make(), dtype=dtype)
    proto = assert_quantized_export(small, batches)
    quantized = sorted(value.numpy().size for name, value in small.state_dict().items()
                       if name.endswith(f"_{dtype}"))
    assert quantized
    # every quantized weight is stored in its dtype and turned into floats by one node
    arrays = proto_arrays(proto)
    op = "DequantizeLinear" if dtype == "int8" else "Cast"
    turned = [arrays[node.input[0]] for node in proto.graph.node
              if node.op_type == op and node.input[0] in arrays]
    assert all(array.dtype == dtype for array in turned)
    assert sorted(array.size for array in turned) == quantized


def proto_arrays(proto):
    return {tensor.name: onnx.numpy_helper.to_array(tensor) for tensor in proto.graph.initializer}


def test_dequantize_linear_is_per_output_channel_with_zero_points_zero():
    make, batches = MODELS["cnn"]
    small = mg.quantize(make())
    proto = assert_quantized_export(small, batches)
    arrays = proto_arrays(proto)
    nodes = [node for node in proto.graph.node if node.op_type == "DequantizeLinear"]
    assert len(nodes) == 3
    for node in nodes:
        values, scales, zero = (arrays[name] for name in node.input)
        (axis,) = [a.i for a in node.attribute if a.name == "axis"]
        assert values.dtype == np.int8 and zero.dtype == np.int8 and not zero.any()
        assert scales.shape == (values.shape[axis],)
    conv = small.layers[0]  # (kh, kw, C, F) -> ONNX's (F, C, kh, kw): a scale per filter
    first = arrays[nodes[0].input[0]]
    np.testing.assert_array_equal(first, conv.kernel_int8.numpy().transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(arrays[nodes[0].input[1]], conv.kernel_scale.numpy())


def test_the_int8_file_is_about_4x_smaller(tmp_path):
    mg.manual_seed(0)
    model = mg.Sequential([nn.Dense(128, activation="relu", input_shape=(784,)),
                           nn.Dense(10, activation="softmax")])
    sizes = {}
    for name, exported in [("float", model), ("int8", mg.quantize(model)),
                           ("float16", mg.quantize(model, dtype="float16"))]:
        mg.onnx.export(exported, tmp_path / f"{name}.onnx")
        sizes[name] = (tmp_path / f"{name}.onnx").stat().st_size
    assert sizes["int8"] <= 0.27 * sizes["float"]
    assert sizes["float16"] <= 0.52 * sizes["float"]


def test_opset_13_the_first_with_per_axis_dequantize_linear():
    make, batches = MODELS["bilstm"]
    assert_quantized_export(mg.quantize(make()), batches, opset=13)


def test_onnxruntimes_fused_int8_kernels_stay_close_to_the_float_model():
    make, batches = MODELS["mlp"]
    model = make()
    proto = mg.onnx.export(mg.quantize(model), None)
    got = session(proto, optimized=True).run(None, {"input": batches[0]})[0]
    np.testing.assert_allclose(got, model.predict(batches[0], verbose=0), atol=0.03)


def test_a_converter_that_stores_a_weight_elsewhere_is_an_error(monkeypatch):
    make, _ = MODELS["mlp"]
    small = mg.quantize(make())
    layouts = quantized_export.onnx_layouts

    def renamed(layer):
        return {f"{hint}_renamed": value for hint, value in layouts(layer).items()}

    monkeypatch.setattr(quantized_export, "onnx_layouts", renamed)
    with pytest.raises(RuntimeError, match="never stored the quantized weight"):
        mg.onnx.export(small, None)


def test_a_converter_that_changes_a_weights_layout_is_an_error(monkeypatch):
    make, _ = MODELS["cnn"]
    small = mg.quantize(make())
    layouts = quantized_export.onnx_layouts

    def transposed(layer):
        return {hint: (values.swapaxes(-1, -2), scales, axis)
                for hint, (values, scales, axis) in layouts(layer).items()}

    monkeypatch.setattr(quantized_export, "onnx_layouts", transposed)
    with pytest.raises(RuntimeError, match="in a layout"):
        mg.onnx.export(small, None)
