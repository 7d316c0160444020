"""Saving and loading models: round trips, atomic writes, and files that must be refused."""

import os
import tracemalloc

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.io import ModelFileError
from ..io import _craft as craft


def trained_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 6)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    model = mg.Sequential([nn.Dense(8, activation="relu", input_shape=(6,)),
                           nn.Dropout(0.1), nn.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=0)
    return model, x, y


def test_save_and_load_round_trip_predictions_and_training_state(tmp_path):
    model, x, y = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)
    restored = mg.load_model(path)
    np.testing.assert_array_equal(restored.predict(x), model.predict(x))
    assert restored.get_config()["layers"] == model.get_config()["layers"]
    # The optimizer state came along: one more epoch from both gives the same weights (the
    # same seed gives both the same dropout masks).
    mg.manual_seed(5)
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    mg.manual_seed(5)
    restored.fit(x, y, epochs=1, verbose=0, shuffle=False)
    np.testing.assert_allclose(restored.predict(x), model.predict(x), rtol=1e-6, atol=1e-7)


def test_lazy_model_saves_its_build_shape(tmp_path):
    model = mg.Sequential([nn.Dense(4, activation="tanh"), nn.Dense(2)])
    x = np.ones((3, 5), dtype=np.float32)
    expected = model(mg.tensor(x)).numpy()
    model.save(tmp_path / "lazy.safetensors")
    np.testing.assert_allclose(mg.load_model(tmp_path / "lazy.safetensors").predict(x), expected)


def test_weights_only_round_trip(tmp_path):
    model, x, _ = trained_model()
    model.save_weights(tmp_path / "w.safetensors")
    other, _, _ = trained_model()
    other[0].kernel.data *= 0
    other.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(ModelFileError, match="holds only weights"):
        mg.load_model(tmp_path / "w.safetensors")


def test_weights_into_a_different_model_name_the_mismatch(tmp_path):
    model, _, _ = trained_model()
    model.save_weights(tmp_path / "w.safetensors")
    other = mg.Sequential([nn.Dense(5, input_shape=(6,)), nn.Dense(3)])
    with pytest.raises(ModelFileError,
                       match=r"w.safetensors: the weights do not fit.*missing keys: 1.kernel"):
        other.load_weights(tmp_path / "w.safetensors")


def test_truncated_file_is_refused_with_its_name(tmp_path):
    model, _, _ = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="model.safetensors: truncated"):
        mg.load_model(path)


def test_tampered_weights_fail_the_checksum(tmp_path):
    model, _, _ = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # flip bits inside the last tensor's bytes
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupt.*checksum"):
        mg.load_model(path)


def test_a_file_that_is_not_a_model_is_refused(tmp_path):
    path = tmp_path / "notes.safetensors"
    path.write_bytes(b"hello, this is not a model at all")
    with pytest.raises(ModelFileError, match="notes.safetensors"):
        mg.load_model(path)
    with pytest.raises(FileNotFoundError, match="no model file"):
        mg.load_model(tmp_path / "missing.safetensors")


def test_unknown_layer_class_is_refused_not_executed(tmp_path):
    model, _, _ = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)

    def os_system(architecture):
        architecture["config"]["layers"][0]["class_name"] = "os.system"

    craft.rewrite(path, lambda header: craft.edit_json(header, "architecture", os_system))
    with pytest.raises(ModelFileError, match="unknown layer class 'os.system'"):
        mg.load_model(path)


def test_a_failed_save_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    model, x, _ = trained_model()
    path = tmp_path / "model.safetensors"
    model.save(path)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    model[0].kernel.data *= 2
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]  # no temp file left


def test_custom_model_subclass_points_to_save_weights(tmp_path):
    class Custom(mg.Model):
        def __init__(self):
            super().__init__()
            self.dense = nn.Dense(2)

        def forward(self, x):
            return self.dense(x)

    model = Custom()
    model(mg.ones(1, 3))
    with pytest.raises(TypeError, match="use save_weights"):
        model.save(tmp_path / "custom.safetensors")


def test_a_model_saved_on_one_device_loads_on_the_cpu_and_moves_back(tmp_path, device):
    model, x, y = trained_model()
    model.to(device)
    expected = model.predict(x)
    path = tmp_path / "model.safetensors"
    model.save(path)
    restored = mg.load_model(path)
    assert restored.device == "cpu"
    np.testing.assert_allclose(restored.predict(x), expected, rtol=1e-5, atol=1e-6)
    restored.to(device)
    np.testing.assert_allclose(restored.predict(x), expected, rtol=1e-5, atol=1e-6)
    restored.fit(x, y, epochs=1, verbose=0)  # the optimizer state followed the weights


def test_a_scalar_parameter_keeps_its_shape(tmp_path):
    # np.ascontiguousarray makes 0-d arrays 1-d: a scalar weight once came back as (1,).
    class Scaled(mg.Model):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(mg.tensor(2.5))
            self.dense = nn.Dense(2)

        def forward(self, x):
            return self.dense(x) * self.scale

    model = Scaled()
    model(mg.ones(1, 3))
    model.save_weights(tmp_path / "scaled.safetensors")
    other = Scaled()
    other(mg.ones(1, 3))
    other.load_weights(tmp_path / "scaled.safetensors")
    assert other.scale.shape == () and other.scale.item() == 2.5
    np.testing.assert_array_equal(other.dense.kernel.numpy(), model.dense.kernel.numpy())


# --- the whole file is checksummed; a file with a recomputed checksum is still validated ------
def bn_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    model = mg.Sequential([nn.Dense(8, activation="relu", input_shape=(6,)),
                           nn.BatchNormalization(), nn.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    return model


@pytest.fixture
def saved_bn(tmp_path):
    path = tmp_path / "model.safetensors"
    bn_model().save(path)
    return path


@pytest.mark.parametrize("old, new", [
    (b'\\"epsilon\\": 0.001', b'\\"epsilon\\": 0.003'),        # a BatchNormalization setting
    (b'\\"activation\\": \\"relu\\"', b'\\"activation\\": \\"tanh\\"'),
    (b'\\"step\\": 1,', b'\\"step\\": 9,'),                     # Adam's step count
    (b'\\"weight_decay\\": 0.0', b'\\"weight_decay\\": 0.5'),
    (b'\\"loss\\": \\"sparse_categorical_crossentropy\\"',
     b'\\"loss\\": \\"mse\\"' + b" " * 28),                  # the same length: no new offsets
])
def test_an_edit_anywhere_in_the_header_is_refused(saved_bn, old, new):
    data = saved_bn.read_bytes()
    assert data.count(old) >= 1
    saved_bn.write_bytes(data.replace(old, new, 1))
    with pytest.raises(ModelFileError, match="model.safetensors: corrupt -- its contents do "
                                             "not match the checksum"):
        mg.load_model(saved_bn)


def architecture_edit(change):
    return lambda header: craft.edit_json(header, "architecture", change)


def layer(index, **config):
    def change(architecture):
        architecture["config"]["layers"][index]["config"].update(config)
    return architecture_edit(change)


@pytest.mark.parametrize("edit, message", [
    (layer(0, units=10 ** 12), r"weight of shape \(6, 1000000000000\), which the file does "
                               r"not store"),
    (layer(0, units=2e7), r"weight of shape \(6, 20000000\)"),
    (layer(0, units="many"), "the architecture cannot be rebuilt: "),
    (layer(0, units=None), "the architecture cannot be rebuilt: "),
    (layer(0, input_shape=[10 ** 12]), r"Dense input_shape \(1000000000000,\) has more than "
                                       r"16777216 elements"),
    (layer(0, input_shape=[[6]]), "Dense input_shape .* is not a list of sizes"),
    (layer(0, kernel_initializer="os.system"), "unknown initializer 'os.system'"),
    (layer(0, activation="eval"), "the architecture cannot be rebuilt: .*eval"),
    (layer(1, epsilon="small"), "the architecture cannot be rebuilt: "),
    (layer(1, axis=[1]), "the architecture cannot be rebuilt: "),
    (architecture_edit(lambda a: a["config"].update(layers={})), "weights do not fit"),
    (architecture_edit(lambda a: a["config"]["layers"].append([1])), "a layer spec is"),
    (architecture_edit(lambda a: a.pop("config")), "no entry 'config'"),
    (lambda h: h["__metadata__"].update(architecture="[" * 100_000 + "]" * 100_000),
     "the architecture cannot be rebuilt: nested too deeply"),
    (lambda h: h["__metadata__"].update(architecture='{"class_name": '),
     "the architecture cannot be rebuilt: Expecting value"),
    (lambda h: h["__metadata__"].update(architecture="[]"), "a JSON list, expected an object"),
    (lambda h: h["__metadata__"].update(compile='{"optimizer": "os.system", "loss": "mse"}'),
     "the compile settings cannot be restored: .*os.system"),
    (lambda h: h["__metadata__"].update(compile='{"optimizer": "adam", "run": 1}'),
     "the compile settings cannot be restored"),
    (lambda h: craft.edit_json(h, "optimizer", lambda o: o.update(class_name="SGD")),
     "saved with optimizer 'SGD', compiled with Adam"),
    (lambda h: craft.edit_json(h, "optimizer", lambda o: o.update(state=[1, 2])),
     "the optimizer state does not fit"),
    (lambda h: craft.edit_json(h, "optimizer", lambda o: o["state"]["state"]["0"].update(
        exp_avg={"__tensor__": "weights/2.kernel"})), "the optimizer state does not fit"),
])
def test_a_malformed_model_file_with_a_correct_checksum_is_a_model_file_error(
        saved_bn, edit, message):
    craft.rewrite(saved_bn, edit)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match="model.safetensors: .*" + message):
            mg.load_model(saved_bn)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2 ** 20  # refused before anything large was allocated


def test_a_huge_build_input_shape_is_refused_before_it_is_allocated(tmp_path):
    model = mg.Sequential([nn.Dense(4), nn.Dense(2)])
    model(mg.ones(1, 3))
    path = tmp_path / "lazy.safetensors"
    model.save(path)
    craft.rewrite(path, architecture_edit(lambda a: a.update(build_input_shape=[2 ** 40])))
    with pytest.raises(ModelFileError, match=r"build_input_shape \(None, 1099511627776\) has "
                                             "more than"):
        mg.load_model(path)


def test_a_huge_functional_input_is_refused_before_it_is_allocated(tmp_path):
    inputs = nn.Input(shape=(5,))
    model = mg.Model(inputs, nn.Dense(2)(inputs))
    path = tmp_path / "functional.safetensors"
    model.save(path)

    def huge_input(architecture):
        for spec in architecture["config"]["layers"]:
            if spec["class_name"] == "InputLayer":
                spec["config"]["shape"] = [10 ** 6, 10 ** 6]
    craft.rewrite(path, architecture_edit(huge_input))
    with pytest.raises(ModelFileError, match=r"InputLayer shape .* has more than 16777216"):
        mg.load_model(path)


# --- saving over what is there -------------------------------------------------------------------
@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions and symlinks")
def test_save_keeps_the_permissions_and_writes_through_a_symlink(tmp_path):
    model, x, _ = trained_model()
    (tmp_path / "releases").mkdir()
    target = tmp_path / "releases" / "v2.safetensors"
    model.save(target)
    os.chmod(target, 0o644)
    link = tmp_path / "current.safetensors"
    link.symlink_to(target)
    model[0].kernel.data *= 2
    model.save(link)
    assert link.is_symlink() and (target.stat().st_mode & 0o777) == 0o644
    np.testing.assert_array_equal(mg.load_model(target).predict(x), model.predict(x))


def test_the_allocation_budget_binds_only_the_thread_that_loads():
    import threading

    built = []
    with mg.nn.init.allocation_budget([(3, 2)]):
        with pytest.raises(mg.nn.init.AllocationBudgetError, match=r"shape \(3, 5\)"):
            nn.Dense(5, use_bias=False).build((None, 3))
        worker = threading.Thread(target=lambda: built.append(nn.Dense(5).build((None, 3))))
        worker.start()
        worker.join()
        nn.Dense(2, use_bias=False).build((None, 3))      # the one weight the budget holds
        with pytest.raises(mg.nn.init.AllocationBudgetError, match="weights left: none"):
            nn.Dense(2, use_bias=False).build((None, 3))
    assert built == [None]  # another thread built freely meanwhile
    nn.Dense(5).build((None, 3))  # and after the block, this one too
