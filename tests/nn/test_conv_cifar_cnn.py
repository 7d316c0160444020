"""The CNN of the Keras/TensorFlow CIFAR-10 tutorial, line for line, learns: a manual training
loop (log_softmax cross-entropy, plain SGD) on a few random images of 10 learnable classes
drives the loss clearly down."""

import numpy as np

import minigrad as mg
from minigrad.nn import Conv2D, Dense, Flatten, MaxPooling2D


def cifar_tutorial_model():
    return mg.Sequential([
        Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)),
        MaxPooling2D((2, 2)),
        Conv2D(64, (3, 3), activation="relu"),
        MaxPooling2D((2, 2)),
        Conv2D(64, (3, 3), activation="relu"),
        Flatten(),
        Dense(64, activation="relu"),
        Dense(10),
    ])


def learnable_images(n, seed=0):
    """Images of 10 classes: each class is a random template, each image its template plus
    noise, so that the classes can be told apart but not by a single pixel."""
    rng = np.random.default_rng(seed)
    templates = rng.standard_normal((10, 32, 32, 3))
    labels = np.arange(n) % 10
    images = templates[labels] + 0.5 * rng.standard_normal((n, 32, 32, 3))
    return images.astype(np.float32), labels


def test_the_cifar_tutorial_cnn_learns_with_a_manual_sgd_loop():
    model = cifar_tutorial_model()
    images, labels = learnable_images(40)
    x, y, rows = mg.tensor(images), mg.tensor(labels), mg.arange(len(labels))
    learning_rate = 0.05

    losses = []
    for _ in range(30):
        logits = model(x)
        loss = -mg.log_softmax(logits, axis=1)[rows, y].mean()
        model.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p.data -= learning_rate * p.grad.data
        losses.append(loss.item())

    assert np.isfinite(losses).all()
    assert losses[0] > 2.0  # about log(10) from the Glorot initialization
    assert losses[-1] < 0.25 * losses[0], losses
    with mg.no_grad():
        accuracy = (model(x).numpy().argmax(axis=1) == labels).mean()
    assert accuracy >= 0.9
    assert all(p.grad.dtype == "float32" for p in model.parameters())
