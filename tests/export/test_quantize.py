"""mg.quantize: int8 / float16 copies of trained models that predict, save, load in a fresh
process, are served, and refuse training; compared with PyTorch's quantize_dynamic."""

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

RNG = np.random.default_rng(0)


def mlp(hidden=128, features=784, classes=10, seed=0):
    mg.manual_seed(seed)
    return mg.Sequential([nn.Dense(hidden, activation="relu", input_shape=(features,)),
                          nn.Dense(classes, activation="softmax")], name="mlp")


def text_model(recurrent=nn.LSTM, **options):
    mg.manual_seed(2)
    model = mg.Sequential([nn.Embedding(40, 8, mask_zero=True, input_shape=(7,)),
                           nn.Bidirectional(recurrent(6, **options)), nn.Dense(2)])
    model.build((None, 7))
    return model


def cnn():
    mg.manual_seed(3)
    return mg.Sequential([nn.Conv2D(6, 3, padding="same", activation="relu",
                                    input_shape=(8, 8, 3)),
                          nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(4)])


IDS = np.array([[0, 0, 3, 9, 39, 1, 2], [5, 6, 7, 8, 9, 10, 0], [1, 2, 3, 4, 5, 6, 7]])


def test_quantize_returns_a_new_model_and_leaves_the_original_untouched():
    model = mlp(hidden=16, features=8)
    before = {name: value.numpy().copy() for name, value in model.state_dict().items()}
    small = mg.quantize(model)
    assert small is not model and [type(layer) for layer in model.layers] == [nn.Dense] * 2
    assert [type(layer) for layer in small.layers] == [nn.QuantizedDense] * 2
    assert [layer.name for layer in small.layers] == [layer.name for layer in model.layers]
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[name])
    assert mg.export.quantize is mg.quantize


def test_int8_weights_and_scales_are_per_output_unit_of_the_float_kernels():
    model = mlp(hidden=32, features=20)
    small = mg.quantize(model)
    for float_layer, layer in zip(model.layers, small.layers):
        kernel = float_layer.kernel.numpy()
        expected = np.abs(kernel.astype(np.float64)).max(axis=0) / 127.5  # one per unit
        np.testing.assert_allclose(layer.kernel_scale.numpy(), expected, rtol=1e-6)
        assert layer.kernel_int8.dtype == np.int8
        error = np.abs(layer.kernel.numpy() - kernel)
        assert np.all(error <= expected / 2 + 1e-6 * np.abs(kernel))
        np.testing.assert_array_equal(layer.bias.numpy(), float_layer.bias.numpy())


def test_a_dense_layers_output_moves_at_most_half_a_step_times_the_input():
    mg.manual_seed(4)
    model = mg.Sequential([nn.Dense(12, input_shape=(30,))])
    small = mg.quantize(model)
    x = RNG.normal(size=(50, 30)).astype(np.float32)
    scales = small.layers[0].kernel_scale.numpy().astype(np.float64)
    bound = np.abs(x).astype(np.float64) @ np.broadcast_to(scales / 2, (30, 12))
    moved = np.abs(small.predict(x, verbose=0) - model.predict(x, verbose=0))
    assert np.all(moved <= bound + 1e-5)
    assert moved.max() > 0  # quantized for real


def test_the_scales_are_pytorchs_quantize_dynamic_per_channel_scales():
    torch = pytest.importorskip("torch", reason="PyTorch is not installed")
    quantization = pytest.importorskip("torch.ao.quantization")
    model = mlp(hidden=48, features=64)
    small = mg.quantize(model)
    linear = torch.nn.Linear(64, 48)
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(model.layers[0].kernel.numpy().T))
        linear.bias.copy_(torch.from_numpy(model.layers[0].bias.numpy()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notices
        per_channel = {torch.nn.Linear: quantization.per_channel_dynamic_qconfig}
        quantized = quantization.quantize_dynamic(torch.nn.Sequential(linear), per_channel,
                                                  dtype=torch.qint8)
        weight = quantized[0].weight()
    assert weight.q_per_channel_axis() == 0  # torch's (out, in): a scale per output unit
    assert np.all(weight.q_per_channel_zero_points().numpy() == 0)  # symmetric
    np.testing.assert_allclose(small.layers[0].kernel_scale.numpy(),
                               weight.q_per_channel_scales().numpy(), rtol=1e-6)
    ours, theirs = small.layers[0].kernel_int8.numpy().T.astype(int), weight.int_repr().numpy()
    differ = ours != theirs  # ties at .5 may round either way (torch multiplies by 1/scale)
    assert np.abs(ours - theirs).max() <= 1 and differ.mean() < 0.01


@pytest.mark.parametrize("make, x", [(lambda: mlp(hidden=32, features=20),
                                      RNG.random((6, 20), dtype=np.float32)),
                                     (cnn, RNG.random((4, 8, 8, 3), dtype=np.float32)),
                                     (lambda: text_model(nn.LSTM), IDS),
                                     (lambda: text_model(nn.GRU, reset_after=False), IDS),
                                     (lambda: text_model(nn.SimpleRNN, return_sequences=True),
                                      IDS)])
@pytest.mark.parametrize("dtype, tolerance", [("int8", 0.03), ("float16", 2e-3)])
def test_quantized_models_predict_close_to_the_float_model(make, x, dtype, tolerance):
    model = make()
    small = mg.quantize(model, dtype=dtype)
    np.testing.assert_allclose(small.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=tolerance)
    kinds = {type(m).__name__ for m in small.modules()}
    assert not kinds & {"Dense", "Conv2D", "Embedding", "LSTM", "GRU", "SimpleRNN"}


def test_bidirectional_layers_quantize_both_directions():
    small = mg.quantize(text_model(nn.LSTM))
    bidirectional = small.layers[1]
    assert type(bidirectional.forward_layer) is nn.QuantizedLSTM
    assert type(bidirectional.backward_layer) is nn.QuantizedLSTM
    names = set(small.state_dict())
    assert {"1.forward_layer.kernel_int8", "1.backward_layer.recurrent_kernel_scale",
            "0.embeddings_int8", "2.kernel_int8"} <= names
    assert not any(name.endswith(".kernel") for name in names)


def test_functional_models_quantize_too():
    mg.manual_seed(5)
    inputs = mg.keras.Input((6,))
    hidden = nn.Dense(8, activation="relu", name="hidden")(inputs)
    outputs = nn.Dense(3, name="out")(nn.Concatenate()([hidden, inputs]))
    model = mg.Model(inputs, outputs)
    small = mg.quantize(model)
    x = RNG.random((5, 6), dtype=np.float32)
    np.testing.assert_allclose(small.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=0.03)
    assert {type(layer).__name__ for layer in small.layers} >= {"QuantizedDense", "Concatenate"}


def test_layers_picks_layers_by_name_and_class():
    model = text_model(nn.GRU)
    by_name = mg.quantize(model, layers=[model.layers[2].name])
    assert [type(layer).__name__ for layer in by_name.layers] == [
        "Embedding", "Bidirectional", "QuantizedDense"]
    by_class = mg.quantize(model, layers=[nn.GRU, nn.Embedding])
    assert type(by_class.layers[0]) is nn.QuantizedEmbedding
    assert type(by_class.layers[1].backward_layer) is nn.QuantizedGRU
    assert type(by_class.layers[2]) is nn.Dense
    wrapper = mg.quantize(model, layers=[model.layers[1].name])  # both directions
    assert type(wrapper.layers[1].forward_layer) is nn.QuantizedGRU


def test_int8_file_is_at_most_027_of_the_float_file(tmp_path):
    model = mlp()
    model.save(tmp_path / "float.safetensors")
    mg.quantize(model).save(tmp_path / "int8.safetensors")
    mg.quantize(model, dtype="float16").save(tmp_path / "float16.safetensors")
    size = {name: os.path.getsize(tmp_path / f"{name}.safetensors")
            for name in ("float", "int8", "float16")}
    assert size["int8"] <= 0.27 * size["float"]
    assert size["float16"] <= 0.52 * size["float"]


LOAD_AND_PREDICT = """
import sys, numpy as np, minigrad as mg
model = mg.load_model(sys.argv[1])
print(",".join(type(m).__name__ for m in model.modules()))
np.save(sys.argv[3], model.predict(np.load(sys.argv[2]), verbose=0))
"""


@pytest.mark.parametrize("dtype", ["int8", "float16"])
def test_a_saved_quantized_model_loads_and_predicts_in_a_fresh_process(tmp_path, dtype):
    model = text_model(nn.LSTM, return_sequences=True)
    small = mg.quantize(model, dtype=dtype)
    small.save(tmp_path / "model.safetensors")
    np.save(tmp_path / "ids.npy", IDS)
    done = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT,
                           str(tmp_path / "model.safetensors"), str(tmp_path / "ids.npy"),
                           str(tmp_path / "out.npy")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "QuantizedEmbedding" in done.stdout and "QuantizedLSTM" in done.stdout
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), small.predict(IDS, verbose=0))
    arrays, _ = mg.io.read_tensor_file(tmp_path / "model.safetensors")
    assert arrays[f"weights/0.embeddings_{dtype}"].dtype == np.dtype(dtype)


def test_served_by_the_serving_app(tmp_path):
    pytest.importorskip("waitress", reason="the serving extra is not installed")
    pytest.importorskip("prometheus_client", reason="the serving extra is not installed")
    from ..serve.conftest import call, infer_body

    small = mg.quantize(mlp(hidden=16, features=4, classes=3))
    small.save(tmp_path / "small.safetensors")
    app = mg.serve.create_app(str(tmp_path / "small.safetensors"))
    try:
        x = RNG.random((5, 4), dtype=np.float32)
        answer = call(app, "POST", "/v2/models/small/infer", infer_body(x))
        assert answer.status == 200, answer.body
        (output,) = answer.json()["outputs"]
        result = np.array(output["data"], np.float32).reshape(output["shape"])
        np.testing.assert_allclose(result, small.predict(x, verbose=0), rtol=1e-6)
    finally:
        app.close()


def test_a_quantized_model_evaluates_but_refuses_to_fit():
    small = mg.quantize(mlp(hidden=16, features=4, classes=3))
    x, y = RNG.random((8, 4), dtype=np.float32), np.arange(8) % 3
    small.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    loss, accuracy = small.evaluate(x, y, verbose=0)
    assert np.isfinite(loss) and 0 <= accuracy <= 1
    with pytest.raises(TypeError, match="'dense.*' \\(QuantizedDense\\) is inference-only"):
        small.fit(x, y, epochs=1, verbose=0)


def test_errors_name_the_problem():
    model = text_model(nn.LSTM)
    with pytest.raises(ValueError, match="dtype must be one of 'int8', 'float16', got 'int4'"):
        mg.quantize(model, dtype="int4")
    with pytest.raises(ValueError, match="quantized already"):
        mg.quantize(mg.quantize(model))
    with pytest.raises(ValueError, match="no layer named 'nope'"):
        mg.quantize(model, layers=["nope"])
    with pytest.raises(TypeError, match="cannot quantize BatchNormalization"):
        mg.quantize(model, layers=[nn.BatchNormalization])
    pooled = cnn()
    with pytest.raises(TypeError, match=f"'{pooled.layers[1].name}' is a MaxPooling2D"):
        mg.quantize(pooled, layers=[pooled.layers[1].name])
    with pytest.raises(ValueError, match="nothing to quantize"):
        mg.quantize(mg.Sequential([nn.Flatten(input_shape=(2, 2))]))


def test_a_model_without_an_architecture_is_a_type_error():
    class Custom(mg.Model):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Custom()
    model(np.ones((1, 3), np.float32))
    with pytest.raises(TypeError, match="quantize: .*save_weights"):
        mg.quantize(model)


def test_the_architecture_names_the_quantized_classes(tmp_path):
    mg.quantize(text_model(nn.GRU), dtype="float16").save(tmp_path / "m.safetensors")
    _, metadata = mg.io.read_tensor_file(tmp_path / "m.safetensors")
    layers = json.loads(metadata["architecture"])["config"]["layers"]
    assert [spec["class_name"] for spec in layers] == ["QuantizedEmbedding", "Bidirectional",
                                                       "QuantizedDense"]
    assert layers[1]["config"]["layer"]["class_name"] == "QuantizedGRU"
    assert layers[1]["config"]["layer"]["config"]["weight_dtype"] == "float16"


@pytest.mark.parametrize("dtype", ["int8", "float16"])
def test_a_pruned_model_with_its_masks_quantizes_and_keeps_its_zeros(dtype):
    rng = np.random.default_rng(3)
    model = mg.Sequential([mg.nn.Dense(16, activation="relu", input_shape=(8,)),
                           mg.nn.Dense(4)])
    mg.prune(model, sparsity=0.75)
    small = mg.quantize(model, dtype=dtype)
    for float_layer, layer in zip(model.layers, small.layers):
        pruned = float_layer.kernel.numpy() == 0
        assert pruned.mean() >= 0.74
        assert (layer.kernel.numpy()[pruned] == 0).all()
    x = rng.standard_normal((5, 8)).astype(np.float32)
    np.testing.assert_allclose(small.predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=0.05)
