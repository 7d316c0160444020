"""The functional API (``keras.Model(inputs, outputs)``), Keras-style subclasses with ``call()``
and ``keras.Input`` first in a Sequential: graphs with several inputs and outputs, shared and
merge layers, masks, summary, fit/evaluate/predict, save/load_model -- and Keras 3 itself (torch
backend) on identical weights for predict and a few SGD steps."""

import json
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import keras
from minigrad import nn
from minigrad.io import read_tensor_file


def mlp(prefix="m"):
    inputs = keras.Input(shape=(6,), name=f"{prefix}_in")
    x = keras.layers.Dense(8, activation="relu", name=f"{prefix}_hidden")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name=f"{prefix}_out")(x)
    return keras.Model(inputs, outputs)


def two_in_two_out(k=keras, prefix="g"):
    """Two inputs, a shared Dense on both, Concatenate and Add, two outputs."""
    L = k.layers
    a = k.Input(shape=(4,), name=f"{prefix}_a")
    b = k.Input(shape=(4,), name=f"{prefix}_b")
    shared = L.Dense(5, activation="tanh", name=f"{prefix}_shared")
    sa, sb = shared(a), shared(b)
    joined = L.Concatenate(name=f"{prefix}_cat")([sa, sb])
    summed = L.Add(name=f"{prefix}_add")([sa, sb])
    reg = L.Dense(1, name=f"{prefix}_reg")(joined)
    cls = L.Dense(3, activation="softmax", name=f"{prefix}_cls")(
        L.Multiply(name=f"{prefix}_mul")([summed, L.Dense(5, name=f"{prefix}_gate")(b)]))
    return k.Model([a, b], [reg, cls])


def data(count=40, seed=0):
    rng = np.random.default_rng(seed)
    xa = rng.standard_normal((count, 4)).astype(np.float32)
    xb = rng.standard_normal((count, 4)).astype(np.float32)
    return xa, xb, (xa - xb).sum(1, keepdims=True) / 4, (xa + xb).argmax(1) % 3


# --- what a graph model is -------------------------------------------------------------------

def test_model_of_inputs_and_outputs_is_a_functional_model_built_at_once():
    model = mlp()
    assert type(model).__name__ == "Functional" and isinstance(model, mg.Model)
    assert [p.shape for p in model.parameters()] == [(6, 8), (8,), (8, 3), (3,)]
    assert [layer.name for layer in model.layers] == ["m_in", "m_hidden", "m_out"]
    assert model.input_shape == (None, 6) and model.output_shape == (None, 3)
    x = np.random.default_rng(0).standard_normal((5, 6)).astype(np.float32)
    hidden = np.maximum(x @ model.m_hidden.kernel.numpy() + model.m_hidden.bias.numpy(), 0)
    logits = hidden @ model.m_out.kernel.numpy() + model.m_out.bias.numpy()
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(model(mg.tensor(x)).numpy(), expected, rtol=1e-5)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5)


def test_shared_layer_has_one_set_of_weights_and_gets_both_gradients():
    model = two_in_two_out(prefix="s")
    names = [name for name, _ in model.named_parameters()]
    assert names.count("s_shared.kernel") == 1 and len(names) == 8
    xa, xb, _, _ = data(6)
    reg, cls = model([mg.tensor(xa), mg.tensor(xb)])
    assert reg.shape == (6, 1) and cls.shape == (6, 3)
    (reg.sum() + cls.sum()).backward()
    assert np.abs(model.s_shared.kernel.grad.numpy()).sum() > 0


def test_symbolic_shapes_follow_unknown_sizes():
    ids = keras.Input(shape=(None,), dtype="int32")
    assert ids.shape == (None, None)
    vectors = keras.layers.Embedding(30, 4)(ids)
    assert vectors.shape == (None, None, 4)
    assert keras.layers.LSTM(3, return_sequences=True)(vectors).shape == (None, None, 3)
    assert keras.layers.LSTM(3)(vectors).shape == (None, 3)
    image = keras.Input(shape=(8, 8, 3))
    assert keras.layers.Conv2D(4, 3)(image).shape == (None, 6, 6, 4)
    assert keras.layers.Reshape((-1,))(image).shape == (None, 192)


def test_summary_lists_input_layers_and_each_shared_layer_once():
    text = two_in_two_out(prefix="y").summary(print_fn=None)
    assert "y_a (InputLayer)" in text and "(None, 4)" in text
    assert text.count("y_shared (Dense)") == 1 and "(None, 10)" in text
    # shared 4*5+5, reg 10*1+1, gate 4*5+5, cls 5*3+3
    assert "Total params: 79" in text and two_in_two_out(prefix="z").count_params() == 79


def test_inputs_can_be_a_list_positional_or_a_dict_by_name():
    model = two_in_two_out(prefix="d")
    xa, xb, _, _ = data(4)
    by_list = model.predict([xa, xb])
    np.testing.assert_allclose(model([mg.tensor(xa), mg.tensor(xb)])[1].numpy(), by_list[1],
                               rtol=1e-6)
    np.testing.assert_allclose(model(mg.tensor(xa), mg.tensor(xb))[0].numpy(), by_list[0],
                               rtol=1e-6)
    by_name = model.predict({"d_a": xa, "d_b": xb})
    np.testing.assert_allclose(by_name[0], by_list[0], rtol=1e-6)


def test_dict_outputs_come_back_by_name():
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, {"score": keras.layers.Dense(1)(inputs),
                                 "kind": keras.layers.Dense(2)(inputs)})
    result = model.predict(np.ones((5, 3), np.float32))
    assert set(result) == {"score", "kind"} and result["kind"].shape == (5, 2)


def test_masks_flow_through_the_graph_as_in_sequential():
    """Embedding(mask_zero) -> LSTM in a graph: padded sequences read as the unpadded ones."""
    ids = keras.Input(shape=(None,), dtype="int64")
    embed = keras.layers.Embedding(20, 4, mask_zero=True)
    lstm = keras.layers.LSTM(3)
    model = keras.Model(ids, lstm(embed(ids)))
    padded = np.array([[0, 0, 5, 7, 9]])
    np.testing.assert_allclose(model.predict(padded), model.predict(padded[:, 2:]), rtol=1e-5,
                               atol=1e-6)
    sequential = mg.Sequential([embed, lstm])
    np.testing.assert_allclose(model.predict(padded), sequential.predict(padded), rtol=1e-6)


def test_mask_passes_merge_layers():
    ids = keras.Input(shape=(None,), dtype="int64")
    embed = keras.layers.Embedding(20, 4, mask_zero=True)(ids)
    doubled = keras.layers.Add()([embed, embed])
    model = keras.Model(ids, keras.layers.LSTM(2)(doubled))
    padded = np.array([[0, 3, 4], [2, 3, 4]])
    out = model.predict(padded)
    np.testing.assert_allclose(out[0], model.predict(padded[:1, 1:])[0], rtol=1e-5, atol=1e-6)


# --- training ---------------------------------------------------------------------------------

def test_fit_evaluate_predict_with_several_inputs_and_outputs_learns():
    model = two_in_two_out(prefix="f")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01),
                  loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5],
                  metrics=[["mae"], ["accuracy"]])
    xa, xb, reg, cls = data(200)
    history = model.fit([xa, xb], [reg, cls], epochs=15, batch_size=16, verbose=0, seed=0,
                        validation_data=([xa, xb], [reg, cls]))
    logs = history.history
    assert list(logs) == ["loss", "f_reg_loss", "f_cls_loss", "f_reg_mae", "f_cls_accuracy",
                          "val_loss", "val_f_reg_loss", "val_f_cls_loss", "val_f_reg_mae",
                          "val_f_cls_accuracy"]
    np.testing.assert_allclose(logs["val_loss"],
                               np.array(logs["val_f_reg_loss"]) +
                               0.5 * np.array(logs["val_f_cls_loss"]), rtol=1e-5)
    assert logs["loss"][-1] < 0.5 * logs["loss"][0]
    loss, _, _, mae, accuracy = model.evaluate([xa, xb], [reg, cls], verbose=0)
    np.testing.assert_allclose(loss, logs["val_loss"][-1], rtol=1e-6)
    predicted_reg, predicted_cls = model.predict([xa, xb])
    np.testing.assert_allclose(mae, np.abs(predicted_reg - reg).mean(), rtol=1e-5)
    np.testing.assert_allclose(accuracy, (predicted_cls.argmax(1) == cls).mean(), rtol=1e-6)


def test_losses_by_output_name_and_one_loss_for_all():
    model = two_in_two_out(prefix="n")
    model.compile("sgd", loss={"n_reg": "mse", "n_cls": "sparse_categorical_crossentropy"})
    xa, xb, reg, cls = data(16)
    total, reg_loss, cls_loss = model.evaluate([xa, xb], [reg, cls], verbose=0, batch_size=16)
    p_reg, p_cls = model.predict([xa, xb])
    expected = ((p_reg - reg) ** 2).mean() - np.log(p_cls[np.arange(16), cls]).mean()
    np.testing.assert_allclose(total, expected, rtol=1e-5)
    np.testing.assert_allclose(reg_loss, ((p_reg - reg) ** 2).mean(), rtol=1e-5)
    np.testing.assert_allclose(reg_loss + cls_loss, total, rtol=1e-5)
    with pytest.raises(ValueError, match=r"names outputs \['nope'\]; the model's outputs are "
                                         r"\['n_reg', 'n_cls'\]"):
        model.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match=r"has 3 entries for 2 outputs"):
        model.compile("sgd", loss=["mse"] * 3)


# --- saving ------------------------------------------------------------------------------------

def test_save_and_load_model_rebuild_the_graph_from_json(tmp_path):
    model = two_in_two_out(prefix="v")
    model.compile("adam", loss=["mse", "sparse_categorical_crossentropy"],
                  metrics=[["mae"], ["accuracy"]])
    xa, xb, reg, cls = data(32)
    model.fit([xa, xb], [reg, cls], epochs=2, verbose=0)
    path = tmp_path / "graph.safetensors"
    model.save(path)
    _, metadata = read_tensor_file(path)
    architecture = json.loads(metadata["architecture"])  # JSON, never pickle
    assert architecture["class_name"] == "Functional"
    assert [n["layer"] for n in architecture["config"]["nodes"]].count("v_shared") == 2
    restored = mg.load_model(path)
    for ours, theirs in zip(restored.predict([xa, xb]), model.predict([xa, xb])):
        np.testing.assert_array_equal(ours, theirs)
    assert restored.get_compile_config()["loss"] == ["mse", "sparse_categorical_crossentropy"]
    # The optimizer state came back too: one more step gives the same weights.
    for m in (model, restored):
        m.fit([xa, xb], [reg, cls], epochs=1, verbose=0, shuffle=False)
    for ours, theirs in zip(restored.get_weights(), model.get_weights()):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)


def test_save_names_a_module_that_is_not_a_layer(tmp_path):
    inputs = keras.Input(shape=(3,))
    block = mg.nn.Sequential([nn.Dense(2)])
    model = keras.Model(inputs, block(inputs))
    with pytest.raises(TypeError, match=r"Sequential\) is not one: use save_weights\(\)"):
        model.save(tmp_path / "m.safetensors")


# --- errors ------------------------------------------------------------------------------------

def test_errors_say_what_is_wrong():
    a, b = keras.Input(shape=(3,)), keras.Input(shape=(3,))
    out = keras.layers.Add()([a, b])
    with pytest.raises(ValueError, match="Graph disconnected"):
        keras.Model(a, out)
    with pytest.raises(TypeError, match="arithmetic on a symbolic tensor"):
        a + b
    with pytest.raises(ValueError, match=r'The name "twin" is used by 2 layers'):
        keras.Model(a, keras.layers.Dense(2, name="twin")(keras.layers.Dense(2, name="twin")(a)))
    model = mlp("e")
    with pytest.raises(ValueError, match=r"input 'e_in' expected shape \(N, 6\), got \(2, 5\)"):
        model(mg.ones(2, 5))
    with pytest.raises(ValueError, match=r"takes 2 input\(s\)"):
        two_in_two_out(prefix="w")(mg.ones(2, 4))
    with pytest.raises(TypeError, match="takes keras.Input tensors"):
        keras.Model(mg.ones(2, 3), a)


# --- Keras-style subclasses and Sequential with Input ------------------------------------------

def test_subclass_with_call_works_and_forward_still_does():
    class TwoLayer(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.hidden = keras.layers.Dense(8, activation="relu")
            self.out = keras.layers.Dense(1)

        def call(self, inputs):
            return self.out(self.hidden(inputs))

    model = TwoLayer(name="two")
    assert model.name == "two"
    x = np.random.default_rng(0).standard_normal((64, 3)).astype(np.float32)
    y = x.sum(1, keepdims=True)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="mse")
    history = model.fit(x, y, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.2 * history.history["loss"][0]

    class Torchy(mg.Model):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(2)

        def forward(self, x):
            return self.dense(x)

    assert Torchy()(mg.ones(4, 3)).shape == (4, 2)
    with pytest.raises(NotImplementedError,
                       match=r"does not define forward\(\) \(nor Keras's call\(\)\)"):
        mg.nn.Module()(mg.ones(1))


def test_input_first_in_sequential_builds_it_at_once():
    model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10)])
    assert [p.shape for p in model.parameters()] == [(784, 64), (64,), (64, 10), (10,)]
    assert model.output_shape == (None, 10) and len(model.layers) == 2
    with pytest.raises(ValueError, match="can only come first"):
        model.add(keras.Input(shape=(3,)))
    text = keras.Sequential([keras.layers.InputLayer(shape=(20,), dtype="int32"),
                             keras.layers.Embedding(50, 8),
                             keras.layers.LSTM(4)]).summary(print_fn=None)
    assert "(None, 20, 8)" in text and "Total params: 608" in text


def test_functional_model_nests_a_sequential_and_a_functional_model():
    inner = mlp("inner")
    inputs = keras.Input(shape=(6,))
    model = keras.Model(inputs, keras.layers.Dense(2)(inner(inputs)))
    x = np.ones((3, 6), np.float32)
    assert model.predict(x).shape == (3, 2)
    assert len(list(model.parameters())) == 6


# --- against Keras 3 ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    return pytest.importorskip("keras", reason="Keras 3 not installed (pip install keras; it "
                                               "runs on the torch backend)")


def copy_weights(ours, theirs):
    """Keras's weights into ours, layer by layer by name."""
    for layer in theirs.layers:
        if layer.get_weights():
            getattr(ours, layer.name).set_weights(layer.get_weights())


def test_predict_and_sgd_steps_match_keras_for_a_graph_model(real_keras):
    theirs = two_in_two_out(real_keras, prefix="k")
    ours = two_in_two_out(keras, prefix="k")
    copy_weights(ours, theirs)
    xa, xb, reg, cls = data(24, seed=3)
    for a, b in zip(ours.predict([xa, xb]), theirs.predict([xa, xb], verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    settings = dict(loss=["mse", "sparse_categorical_crossentropy"], loss_weights=[1.0, 0.5])
    theirs.compile(optimizer=real_keras.optimizers.SGD(learning_rate=0.1), **settings)
    ours.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), **settings)
    fit = dict(epochs=3, batch_size=8, shuffle=False, verbose=0)
    expected = theirs.fit([xa, xb], [reg, cls], **fit).history
    got = ours.fit([xa, xb], [reg, cls], **fit).history
    assert set(got) == set(expected)  # loss, k_reg_loss, k_cls_loss
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, err_msg=key)
    for layer in theirs.layers:
        for a, b in zip(getattr(ours, layer.name).get_weights(), layer.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_embedding_lstm_graph_with_masks_matches_keras(real_keras):
    def build(k):
        ids = k.Input(shape=(7,), dtype="int32", name="q_ids")
        x = k.layers.Embedding(15, 4, mask_zero=True, name="q_embed")(ids)
        x = k.layers.Bidirectional(k.layers.LSTM(3), name="q_bilstm")(x)
        return k.Model(ids, k.layers.Dense(1, activation="sigmoid", name="q_out")(x))

    theirs, ours = build(real_keras), build(keras)
    copy_weights(ours, theirs)
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 15, (10, 7))
    for row, start in enumerate(rng.integers(0, 6, 10)):
        ids[row, :start] = 0
    np.testing.assert_allclose(ours.predict(ids), theirs.predict(ids, verbose=0), rtol=1e-5,
                               atol=1e-6)


def test_a_crafted_functional_architecture_is_refused_naming_the_file(tmp_path):
    from minigrad.io import ModelFileError, write_tensor_file

    model = mlp("c")
    path = tmp_path / "good.safetensors"
    model.save(path)
    arrays, metadata = read_tensor_file(path)
    bad = tmp_path / "bad.safetensors"
    for edit, message in [
            (lambda a: a["config"]["layers"][0]["config"].update(shape=[10 ** 9]),
             "more than 16777216 elements"),
            (lambda a: a["config"]["nodes"][0].update(inputs=["node", 5, 0]), r"\(5, 0\)"),
            (lambda a: a["config"]["nodes"][0].update(layer="nope"), "nope")]:
        architecture = json.loads(metadata["architecture"])
        edit(architecture)
        write_tensor_file(bad, arrays, {**metadata, "architecture": json.dumps(architecture)})
        with pytest.raises(ModelFileError, match=f"bad.safetensors: the architecture cannot be "
                                                 f"rebuilt: .*{message}"):
            mg.load_model(bad)


def test_keras_training_argument_in_call_and_in_calls():
    """Keras's subclass example: call(inputs, training=False) handing training= to Dropout."""
    class WithDropout(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(16, activation="relu")
            self.dropout = keras.layers.Dropout(0.5)
            self.out = keras.layers.Dense(1)

        def call(self, inputs, training=False):
            self.seen = training
            return self.out(self.dropout(self.dense(inputs), training=training))

    model = WithDropout()
    x = np.ones((4, 3), np.float32)
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((4, 1), np.float32), epochs=1, verbose=0)
    assert model.seen is True  # fit trains
    model.predict(x)
    assert model.seen is False  # predict does not
    first = model(mg.tensor(x), training=False).numpy()
    np.testing.assert_array_equal(model(mg.tensor(x), training=False).numpy(), first)
    assert model.training  # the call's mode did not stick
    dropout = keras.layers.Dropout(0.5)
    dropout.eval()
    assert (dropout(mg.ones(1000), training=True).numpy() == 0).mean() > 0.3
    assert not dropout.training and (dropout(mg.ones(1000)).numpy() == 1).all()


def test_training_true_on_a_symbolic_call_is_replayed_and_saved(tmp_path):
    inputs = keras.Input(shape=(200,))
    model = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs, training=True))  # MC dropout
    assert (model.predict(np.ones((2, 200), np.float32)) == 0).mean() > 0.3
    model.save(tmp_path / "mc.safetensors")
    restored = mg.load_model(tmp_path / "mc.safetensors")
    assert (restored.predict(np.ones((2, 200), np.float32)) == 0).mean() > 0.3


def test_a_compiled_graph_model_deep_copies_and_pickles():
    import copy
    import pickle

    model = two_in_two_out(prefix="p")
    model.compile("adam", loss=["mse", "sparse_categorical_crossentropy"])
    xa, xb, reg, cls = data(16)
    model.fit([xa, xb], [reg, cls], epochs=1, verbose=0)
    for clone in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        for ours, theirs in zip(clone.predict([xa, xb]), model.predict([xa, xb])):
            np.testing.assert_array_equal(ours, theirs)
        clone.fit([xa, xb], [reg, cls], epochs=1, verbose=0)  # trains its own weights
        assert not np.array_equal(clone.get_weights()[0], model.get_weights()[0])
