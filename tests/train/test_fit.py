"""compile / fit / evaluate / predict: the Keras workflow on small learnable data."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def blobs(n=512, features=20, classes=3, seed=0):
    """Linearly separable-ish clusters: (n, features) float64 and integer labels."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 3, (classes, features))
    labels = rng.integers(0, classes, n)
    return centers[labels] + rng.normal(0, 1, (n, features)), labels


def mlp(features=20, classes=3):
    return mg.Sequential([nn.Dense(32, activation="relu", input_shape=(features,)),
                          nn.Dense(classes, activation="softmax")])


def test_fit_drives_the_loss_down_and_evaluate_agrees_with_predict():
    x, y = blobs()
    model = mlp()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=5, verbose=0, seed=0)
    losses = history.history["loss"]
    assert len(losses) == 5 and losses[-1] < 0.5 * losses[0]
    loss, accuracy = model.evaluate(x, y, verbose=0)
    probabilities = model.predict(x)
    assert probabilities.shape == (len(x), 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(accuracy, (probabilities.argmax(1) == y).mean(), atol=1e-6)
    expected_loss = -np.log(probabilities[np.arange(len(y)), y]).mean()
    assert loss == pytest.approx(expected_loss, rel=1e-4)
    assert accuracy > 0.9


def test_float64_data_feeds_a_float32_model():
    x, y = blobs(n=64)
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(x.astype(np.float64), y, epochs=1, verbose=0)
    assert all(p.dtype == mg.float32 for p in model.parameters())


def test_lazy_model_is_built_by_the_first_batch():
    x, y = blobs(n=64)
    model = mg.Sequential([nn.Dense(8, activation="relu"), nn.Dense(3)])
    model.compile("adam", mg.nn.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(x, y, epochs=1, verbose=0)
    assert model.built and model[0].kernel.shape == (20, 8)


def test_validation_split_and_validation_data_are_reported():
    x, y = blobs(n=200)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, validation_split=0.25, verbose=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    history = model.fit(x[:150], y[:150], epochs=1, validation_data=(x[150:], y[150:]),
                        verbose=0)
    val_loss, _ = model.evaluate(x[150:], y[150:], verbose=0)
    assert history.history["val_loss"][-1] == pytest.approx(val_loss, rel=1e-5)


def test_fit_on_an_iterable_of_batches():
    x, y = blobs(n=96)
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 96, 32)]
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(batches, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


def test_class_weight_changes_the_loss():
    x, y = blobs(n=96)
    model = mlp()
    model.compile("sgd", "sparse_categorical_crossentropy")
    plain = model.evaluate(x, y, verbose=0)
    weights = mg.train.batches.class_weights_to_sample_weights(y, {0: 3.0, 1: 1.0, 2: 1.0})
    weighted = model.evaluate(x, y, sample_weight=weights, verbose=0)
    assert weighted != pytest.approx(plain)
    model.fit(x, y, epochs=1, class_weight={0: 3.0, 1: 1.0, 2: 1.0}, verbose=0)


def test_progress_output_levels(capsys):
    x, y = blobs(n=64)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, verbose=2)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "accuracy:" in out
    model.fit(x, y, epochs=1, verbose=0)
    assert capsys.readouterr().out == ""


def test_fit_before_compile_and_mismatched_data_are_explained():
    x, y = blobs(n=64)
    model = mlp()
    with pytest.raises(RuntimeError, match="compile"):
        model.fit(x, y, verbose=0)
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="x has 64 samples but y has 10"):
        model.fit(x, y[:10], verbose=0)
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 20\), got \(32, 5\)"):
        model.fit(x[:, :5], y, verbose=0)


def test_custom_training_loop_the_pytorch_way():
    x, y = blobs(n=128)
    model = mlp()
    optimizer = mg.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = mg.nn.losses.SparseCategoricalCrossentropy()
    inputs, labels = mg.tensor(x, dtype="float32"), mg.tensor(y)
    first = None
    for _ in range(30):
        optimizer.zero_grad()
        loss = loss_fn(labels, model(inputs))
        loss.backward()
        optimizer.step()
        first = first if first is not None else loss.item()
    assert loss.item() < 0.5 * first


@pytest.mark.parametrize("build", [
    lambda: mg.Sequential([nn.Dense(512, activation="relu", input_shape=(784,)),
                           nn.Dense(512, activation="relu"), nn.Dense(10, activation="softmax")]),
    lambda: mg.Sequential([nn.Flatten(input_shape=(28, 28)), nn.Dense(128, activation="relu"),
                           nn.Dropout(0.2), nn.Dense(10)]),
])
def test_mnist_tutorial_models_learn(build):
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 10, 256)
    prototypes = rng.random((10, 784))
    images = (prototypes[labels] + rng.normal(0, 0.3, (256, 784))).astype(np.float32)
    model = build()
    if isinstance(model[0], nn.Flatten):
        images = images.reshape(-1, 28, 28)
        loss = mg.nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    else:
        loss = "sparse_categorical_crossentropy"
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    history = model.fit(images, labels, batch_size=32, epochs=3, verbose=0)
    assert history.history["loss"][-1] < 0.3 * history.history["loss"][0]


def test_fit_evaluate_predict_on_a_device(device):
    x, y = blobs(n=128)
    model = mlp().to(device)
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=10, verbose=0, seed=0)
    assert all(p.device == device for p in model.parameters())
    assert isinstance(model.predict(x), np.ndarray)
    assert model.evaluate(x, y, verbose=0)[1] > 0.8


@pytest.mark.parametrize("arguments, message", [
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"batch_size": -4}, "batch_size must be a positive integer"),
    ({"batch_size": 2.7}, r"batch_size .* got 2\.7"),
    ({"batch_size": True}, "batch_size .* got True"),
    ({"batch_size": "32"}, "batch_size"),
    ({"epochs": -1}, "epochs must be an integer >= 0"),
    ({"epochs": 2.5}, "epochs must be an integer"),
    ({"epochs": None}, "epochs must be an integer"),
    ({"initial_epoch": -1}, "initial_epoch must be an integer >= 0"),
    ({"validation_split": 1.0}, r"validation_split must be a number in \[0, 1\)"),
    ({"validation_split": -0.1}, "validation_split"),
    ({"validation_split": "0.2"}, "validation_split"),
    ({"seed": 1.5}, "seed must be an integer"),
    ({"class_weight": [1.0, 2.0, 3.0]}, "class_weight must be a dict"),
    ({"validation_data": (np.zeros((2, 20)),)}, "validation_data must be"),
])
def test_bad_fit_arguments_are_errors_naming_them(arguments, message):
    # batch_size=0 used to train with 32 and 2.7 with 2; nothing is trained here.
    x, y = blobs(n=64)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0, **arguments)
    assert not model.optimizer_built or model.optimizer.iterations == 0


@pytest.mark.parametrize("x, y, message", [
    (np.zeros((0, 20)), np.zeros(0, dtype=int), "x has no samples"),
    (np.zeros((10, 20)), np.zeros(9, dtype=int), "x has 10 samples but y has 9"),
    (np.zeros((10, 20)), None, "needs targets y"),
    (None, None, "needs training data x"),
    ([], None, "no training batches"),
])
def test_empty_or_mismatched_data_is_an_error(x, y, message):
    # an empty dataset used to return an empty History
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0)


def test_mismatched_lengths_are_found_before_validation_split_cuts_them():
    x, y = blobs(n=64)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="x has 64 samples but y has 60"):
        model.fit(x, y[:60], validation_split=0.2, verbose=0)


def test_zero_epochs_or_an_initial_epoch_at_the_end_train_nothing():
    x, y = blobs(n=64)
    model = mlp()
    model.compile("adam", "sparse_categorical_crossentropy")
    assert model.fit(x, y, epochs=0, verbose=0).epoch == []
    assert model.fit(x, y, epochs=3, initial_epoch=3, verbose=0).epoch == []
    assert model.optimizer.iterations == 0
