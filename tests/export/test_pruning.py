"""Magnitude pruning (``mg.prune``, ``mg.strip_pruning``, ``PolynomialDecay``,
``save_pruned``): which entries are pruned (against PyTorch's ``torch.nn.utils.prune``), that
they stay pruned through ``fit`` with every optimizer, ``save``/``load_model`` and devices, the
schedule, and the compact file (loaded back exactly, also by ``minigrad serve`` in a fresh
process)."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.export import PolynomialDecay, save_pruned, weight_sparsity
from minigrad.io import ModelFileError

OPTIMIZERS = [lambda: mg.optim.SGD(lr=0.1, momentum=0.9), lambda: "adam",
              lambda: mg.optim.AdamW(lr=0.01), lambda: "rmsprop", lambda: "adagrad",
              lambda: mg.optim.Adam(lr=0.01, global_clipnorm=0.5)]


def mlp(features=6, classes=3, device="cpu"):
    model = mg.Sequential([nn.Dense(16, activation="relu", input_shape=(features,)),
                           nn.BatchNormalization(), nn.Dense(classes, activation="softmax")])
    return model.to(device)


def data(n=64, features=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, features)).astype(np.float32),
            rng.integers(0, classes, n))


def every_kind():
    """A model with each prunable layer kind: (model, input batch)."""
    ids = mg.keras.Input(shape=(5,), dtype="int64")
    x = nn.Embedding(20, 6)(ids)
    x = nn.Bidirectional(nn.LSTM(4, return_sequences=True))(x)
    x = nn.GRU(4, return_sequences=True)(x)
    x = nn.SimpleRNN(3)(x)
    x = nn.Reshape((1, 1, 3))(x)
    x = nn.Conv2D(4, 1)(x)
    x = nn.Flatten()(x)
    out = nn.Dense(2)(x)
    model = mg.Model(ids, out)
    return model, np.random.default_rng(0).integers(1, 20, (8, 5))


def zeros_of(model):
    return [w == 0 for w in model.get_weights()]


# --- which entries -------------------------------------------------------------------------
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.5, 0.8, 0.97])
def test_each_weight_loses_its_smallest_entries_and_nothing_else(sparsity):
    model = mlp()
    before = {name: w.numpy().copy() for name, w in model.state_dict().items()}
    mg.prune(model, sparsity)
    state = model.state_dict()
    for name in ("0.kernel", "2.kernel"):
        w, original = state[name].numpy(), before[name]
        count = round(sparsity * original.size)
        assert (w == 0).sum() == count
        kept = w != 0
        np.testing.assert_array_equal(w[kept], original[kept])
        if 0 < count < original.size:
            assert np.abs(original[~kept]).max() <= np.abs(original[kept]).min()
        np.testing.assert_array_equal(state[name + "_mask"].numpy(), kept)
    for name in ("0.bias", "1.gamma", "1.beta", "1.moving_mean", "2.bias"):
        np.testing.assert_array_equal(state[name].numpy(), before[name])


def test_global_scope_ranks_all_weights_together():
    model = mlp()
    model.layers[2].kernel.data *= 10  # the last layer's weights are all larger
    mg.prune(model, 0.5, scope="global")
    first, last = model.layers[0].kernel.numpy(), model.layers[2].kernel.numpy()
    assert (first == 0).sum() + (last == 0).sum() == round(0.5 * (first.size + last.size))
    assert (first == 0).mean() > 0.5 > (last == 0).mean()
    pruned = np.concatenate([np.abs(w[w == 0]) for w in (first, last)])
    kept = np.concatenate([np.abs(w[w != 0]) for w in (first, last)])
    assert pruned.max() <= kept.min()


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_the_same_entries_as_torch_prune(scope):
    torch = pytest.importorskip("torch", reason="PyTorch not installed")
    from torch.nn.utils import prune as torch_prune

    model = mlp()
    kernels = [model.layers[0].kernel.numpy().copy(), model.layers[2].kernel.numpy().copy()]
    linears = [torch.nn.Linear(*k.shape, bias=False) for k in kernels]
    with torch.no_grad():
        for linear, kernel in zip(linears, kernels):
            linear.weight.copy_(torch.from_numpy(kernel.T))
    if scope == "layer":
        for linear in linears:
            torch_prune.l1_unstructured(linear, "weight", amount=0.6)
    else:
        torch_prune.global_unstructured([(linear, "weight") for linear in linears],
                                        torch_prune.L1Unstructured, amount=0.6)
    mg.prune(model, 0.6, scope=scope)
    for layer, linear in zip((model.layers[0], model.layers[2]), linears):
        np.testing.assert_array_equal(layer.kernel_mask.numpy(),
                                      linear.weight_mask.numpy().T.astype(bool))
        np.testing.assert_array_equal(layer.kernel.numpy(), linear.weight.detach().numpy().T)


def test_every_prunable_layer_kind_is_pruned_biases_are_not(tmp_path):
    model, ids = every_kind()
    biases = {name: value.numpy().copy() for name, value in model.state_dict().items()
              if name.endswith("bias")}
    mg.prune(model, 0.5)
    sparsity = weight_sparsity(model)
    names = [name for name in sparsity if name != "total"]
    assert len(names) == 11  # embeddings, 2x2 bidirectional, 2 GRU, 2 SimpleRNN, conv, dense
    assert {name.rsplit(".", 1)[1] for name in names} == {"embeddings", "kernel",
                                                           "recurrent_kernel"}
    sizes = {name: value.size for name, value in model.state_dict().items()}
    for name in names:
        assert sparsity[name] == round(0.5 * sizes[name]) / sizes[name], name
    for name, value in biases.items():
        np.testing.assert_array_equal(model.state_dict()[name].numpy(), value)
    model.save(tmp_path / "all.safetensors")  # a functional model, masks inside Bidirectional
    loaded = mg.load_model(tmp_path / "all.safetensors")
    assert len(list(mg.nn.pruning_masks.masked(loaded))) == 11
    np.testing.assert_array_equal(loaded.predict(ids), model.predict(ids))


def test_layers_picks_by_object_or_name_and_a_bidirectional_means_both_directions():
    model, _ = every_kind()
    bidirectional = next(m for m in model.modules() if isinstance(m, nn.Bidirectional))
    dense = next(m for m in model.modules() if isinstance(m, nn.Dense))
    mg.prune(model, 0.5, layers=[bidirectional, dense.name])
    pruned = {name for name, _, _, _, _ in mg.nn.pruning_masks.masked(model)}
    assert pruned == {name for name, m in model.named_modules()
                      if m is dense or m in (bidirectional.forward_layer,
                                             bidirectional.backward_layer)}


@pytest.mark.parametrize("call, message", [
    (lambda m: mg.prune(m, 1.0), "sparsity must be a fraction in \\[0, 1\\)"),
    (lambda m: mg.prune(m, -0.1), "sparsity must be a fraction"),
    (lambda m: mg.prune(m, "0.5"), "sparsity must be a fraction"),
    (lambda m: mg.prune(m, 0.5, scope="model"), "scope must be 'layer' or 'global'"),
    (lambda m: mg.prune(m, 0.5, layers=["nope"]), "no layer 'nope'; its prunable layers"),
    (lambda m: mg.prune(m, 0.5, layers=[m.layers[1]]), "has no weights to prune"),
    (lambda m: mg.prune(m, 0.5, layers=[nn.Dense(2)]), "the model has no layer"),
])
def test_bad_arguments_are_clear_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call(mlp())


def test_an_unbuilt_model_is_a_clear_error():
    with pytest.raises(ValueError, match="has no weights yet.*build the model first"):
        mg.prune(mg.Sequential([nn.Dense(3)]), 0.5)
    with pytest.raises(ValueError, match="no Dense, Conv2D, LSTM"):
        mg.prune(mg.Sequential([nn.Flatten(input_shape=(2, 2))]), 0.5)


def test_pruned_entries_stay_pruned_when_pruning_again():
    model = mlp()
    mg.prune(model, 0.5)
    first = model.layers[0].kernel_mask.numpy().copy()
    model.layers[0].kernel.data[~first] = 0  # (already zero) as if trained
    mg.prune(model, 0.8)
    second = model.layers[0].kernel_mask.numpy()
    assert not (second & ~first).any() and (~second).mean() == pytest.approx(0.8, abs=0.01)
    mg.prune(model, 0.2)  # lower: nothing comes back
    np.testing.assert_array_equal(model.layers[0].kernel_mask.numpy(), second)


# --- kept through training -----------------------------------------------------------------
@pytest.mark.parametrize("optimizer", OPTIMIZERS,
                         ids=["sgd-momentum", "adam", "adamw", "rmsprop", "adagrad", "clipnorm"])
def test_fit_with_any_optimizer_never_regrows_a_pruned_weight(optimizer, device):
    x, y = data()
    model = mlp(device=device)
    model.compile(optimizer(), "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)  # momentum/moments built up
    mg.prune(model, 0.7)
    layers = (model.layers[0], model.layers[2])
    before = [layer.kernel.numpy().copy() for layer in layers]
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    for layer, old in zip(layers, before):
        kernel, mask = layer.kernel.numpy(), layer.kernel_mask.numpy()
        assert (~mask).mean() == pytest.approx(0.7, abs=0.01)
        assert (kernel[~mask] == 0).all()
        assert (kernel[mask] != old[mask]).mean() > 0.5  # the rest trained


def test_without_masks_momentum_regrows_zeroed_weights():
    # The contrast that shows the test above can fail: zeros written by hand, no masks.
    x, y = data()
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    mg.prune(model, 0.7)
    mg.strip_pruning(model)
    zero = model.layers[0].kernel.numpy() == 0
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    assert (model.layers[0].kernel.numpy()[zero] != 0).all()


def test_a_plain_training_loop_keeps_the_masks_too():
    x, y = data()
    model = mlp()
    model.build((None, 6))
    mg.prune(model, 0.6)
    optimizer = mg.optim.Adam(model.parameters(), lr=0.05)
    loss_fn = nn.losses.get("sparse_categorical_crossentropy")
    mask = model.layers[0].kernel_mask.numpy()
    for _ in range(5):
        loss = loss_fn(mg.tensor(y), model(mg.tensor(x)))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert (model.layers[0].kernel.numpy()[~mask] == 0).all()


def test_masks_are_saved_and_loaded_with_the_model_and_fit_goes_on(tmp_path):
    x, y = data()
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, verbose=0)
    mg.prune(model, 0.75, scope="global")
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    model.save(tmp_path / "pruned.safetensors")
    loaded = mg.load_model(tmp_path / "pruned.safetensors")
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    masks = {f"{module_name}.{name}": mask.numpy() for module_name, _, name, _, mask
             in mg.nn.pruning_masks.masked(loaded)}
    assert sorted(masks) == ["0.kernel", "2.kernel"]
    model.fit(x, y, epochs=2, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert (loaded.layers[0].kernel.numpy()[~masks["0.kernel"]] == 0).all()


def test_masks_follow_the_model_to_another_dtype_and_into_copies():
    import copy

    model = mlp()
    model.build((None, 6))
    mg.prune(model, 0.5)
    model.to("float64")
    assert model.layers[0].kernel.dtype == mg.float64
    assert model.layers[0].kernel_mask.dtype == mg.bool_
    twin = copy.deepcopy(model)
    assert twin.layers[0].kernel.pruning_mask is twin.layers[0].kernel_mask
    assert twin.layers[0].kernel_mask is not model.layers[0].kernel_mask


def test_strip_pruning_removes_the_masks_and_keeps_the_zeros():
    model = mlp()
    model.build((None, 6))
    mg.prune(model, 0.5)
    zero = model.layers[0].kernel.numpy() == 0
    assert mg.strip_pruning(model) is model
    assert not [name for name, _ in model.named_buffers() if name.endswith("_mask")]
    assert model.layers[0].kernel.pruning_mask is None
    np.testing.assert_array_equal(model.layers[0].kernel.numpy() == 0, zero)
    assert len(model.get_weights()) == 8  # 2 Dense and a BatchNormalization, no masks


# --- the schedule --------------------------------------------------------------------------
def test_polynomial_decay_follows_the_model_optimization_toolkit_formula():
    schedule = PolynomialDecay(0.9, begin_step=10, end_step=110, initial_sparsity=0.2,
                               power=2, frequency=25)
    for step in (0, 10, 35, 60, 85, 110, 500):
        progress = min(1.0, max(0.0, (step - 10) / 100))
        expected = 0.9 + (0.2 - 0.9) * (1 - progress) ** 2
        assert schedule.sparsity_at(step) == pytest.approx(expected)
    assert [t for t in range(200) if schedule.prunes_at(t)] == [10, 35, 60, 85, 110]
    uneven = PolynomialDecay(0.5, begin_step=0, end_step=10, frequency=4)
    assert [t for t in range(20) if uneven.prunes_at(t)] == [0, 4, 8, 10]


@pytest.mark.parametrize("arguments, message", [
    (dict(final_sparsity=1.0), "final_sparsity must be a fraction"),
    (dict(end_step=5), "end_step >= 11"),
    (dict(frequency=0), "frequency >= 1"),
    (dict(power=0), "power > 0"),
    (dict(scope="all"), "scope must be"),
])
def test_polynomial_decay_refuses_bad_arguments(arguments, message):
    options = {**dict(final_sparsity=0.8, begin_step=10, end_step=20), **arguments}
    with pytest.raises(ValueError, match=message):
        PolynomialDecay(**options)


def test_polynomial_decay_prunes_during_fit_and_reaches_the_final_sparsity(tmp_path):
    x, y = data(n=64)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    seen = []

    class Record(mg.train.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(weight_sparsity(model)["0.kernel"])

    schedule = PolynomialDecay(0.8, begin_step=2, end_step=10, frequency=2)
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, shuffle=False,
              callbacks=[schedule, Record()])  # 16 steps
    kernel = model.layers[0].kernel.size
    last_pruned = [0, 0] + [t - t % 2 for t in range(2, 10)] + [10] * 6  # steps 0..15
    expected = [round(schedule.sparsity_at(t) * kernel) / kernel for t in last_pruned]
    assert expected[-1] == round(0.8 * kernel) / kernel and expected[2] == 0.0
    np.testing.assert_allclose(seen, expected, atol=1e-12)
    # a loaded model continues from the optimizer's step count: nothing more to do at 16+
    model.save(tmp_path / "m.safetensors")
    loaded = mg.load_model(tmp_path / "m.safetensors")
    assert loaded.optimizer.iterations == 16
    loaded.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[schedule])
    assert weight_sparsity(loaded)["0.kernel"] == pytest.approx(0.8, abs=1 / kernel)


# --- the compact file ----------------------------------------------------------------------
def big_mlp():
    mg.manual_seed(1)
    model = mg.Sequential([nn.Dense(128, activation="relu", input_shape=(784,)),
                           nn.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    return model


def test_the_compact_file_of_an_80_percent_pruned_mlp_is_under_0_35x_and_loads_exactly(
        tmp_path):
    model = big_mlp()
    model.save(tmp_path / "dense.safetensors", include_optimizer=False)
    mg.prune(model, 0.8)
    mg.strip_pruning(model)
    save_pruned(model, tmp_path / "pruned.safetensors")
    dense = (tmp_path / "dense.safetensors").stat().st_size
    compact = (tmp_path / "pruned.safetensors").stat().st_size
    assert compact <= 0.35 * dense, compact / dense
    loaded = mg.load_model(tmp_path / "pruned.safetensors")
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    assert loaded.get_compile_config() == model.get_compile_config()


def test_the_compact_file_keeps_the_masks_of_an_unstripped_model(tmp_path):
    x, y = data()
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x, y, verbose=0)
    mg.prune(model, 0.6)
    save_pruned(model, tmp_path / "p.safetensors", include_optimizer=True)
    loaded = mg.load_model(tmp_path / "p.safetensors")
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.layers[0].kernel.pruning_mask is loaded.layers[0].kernel_mask
    other = mlp()  # load_weights reads the compact file too
    other.build((None, 6))
    other.load_weights(tmp_path / "p.safetensors")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    model.fit(x, y, epochs=1, verbose=0, shuffle=False)
    loaded.fit(x, y, epochs=1, verbose=0, shuffle=False)  # the optimizer state came back too
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_minigrad_serve_and_load_model_read_the_compact_file_in_a_fresh_process(tmp_path):
    pytest.importorskip("waitress", reason="the serving extra is not installed")
    from tests.serve.conftest import (free_port, infer_body, post, start_cli,
                                      wait_until_live)

    model = big_mlp()
    mg.prune(model, 0.8)
    mg.strip_pruning(model)
    path = tmp_path / "pruned.safetensors"
    save_pruned(model, path)
    x = np.random.default_rng(0).random((3, 784), dtype=np.float32)
    script = ("import sys, numpy as np, minigrad as mg; m = mg.load_model(sys.argv[1]); "
              "x = np.random.default_rng(0).random((3, 784), dtype=np.float32); "
              "sys.stdout.write(m.predict(x).tobytes().hex())")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                         text=True, check=True).stdout
    np.testing.assert_array_equal(
        np.frombuffer(bytes.fromhex(out), np.float32).reshape(3, 10), model.predict(x))
    port = free_port()
    process = start_cli(path, "--port", port, "--name", "pruned")
    try:
        wait_until_live(f"127.0.0.1:{port}", process)
        status, body = post(f"127.0.0.1:{port}", "/v2/models/pruned/infer", infer_body(x))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    assert status == 200
    answer = json.loads(body)["outputs"][0]
    np.testing.assert_allclose(np.reshape(answer["data"], answer["shape"]), model.predict(x),
                               rtol=1e-6, atol=1e-7)


def test_a_compact_file_with_inconsistent_parts_is_refused(tmp_path):
    from minigrad.io.packed_arrays import pack_arrays
    from minigrad.train.saving import model_file_contents

    model = mlp()
    model.build((None, 6))
    mg.prune(model, 0.5)
    arrays, metadata = model_file_contents(model, include_optimizer=False)
    arrays, metadata["packed"] = pack_arrays(arrays, ["weights/0.kernel"])
    arrays["packed/weights/0.kernel/values"] = arrays["packed/weights/0.kernel/values"][:-1]
    mg.io.write_tensor_file(tmp_path / "bad.safetensors", arrays, metadata)
    with pytest.raises(ModelFileError, match="bad.safetensors: packed array 'weights/0.kernel'"
                                             ": needs 48 values"):
        mg.load_model(tmp_path / "bad.safetensors")


def test_the_names_on_the_package_root_need_no_import_of_export():
    script = ("import minigrad as mg; assert mg.prune is mg.export.prune; "
              "assert mg.strip_pruning is mg.export.strip_pruning; "
              "assert mg.export.PolynomialDecay and mg.export.save_pruned")
    subprocess.run([sys.executable, "-c", script], check=True)
