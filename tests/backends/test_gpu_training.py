"""Whole models trained on the CUDA kernels follow the CPU: a small CNN (convolution, max and
average pooling, softmax cross-entropy, Adam) and an embedding + bidirectional LSTM (sparse
labels, SGD with momentum), a few steps each from the same weights. Run emulated on the CPU
(g++) and on a GPU when there is one (see conftest.py)."""

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.autograd.tensor import Tensor
from minigrad.backends import get_backend

cpu = get_backend("cpu")


def _train(backend, build, inputs, labels, make_optimizer, steps=3):
    mg.manual_seed(0)
    model = build()
    model(Tensor._make(cpu.asarray(inputs[:1]), cpu))  # build the lazy layers on the CPU
    model.to(backend)
    optimizer = make_optimizer(model.parameters())
    x = Tensor._make(backend.asarray(inputs), backend)
    y = Tensor._make(backend.asarray(labels), backend)
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = mg.sparse_categorical_crossentropy(y, model(x), from_logits=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, [backend.to_numpy(p.data) for p in model.parameters()]


def _assert_same_training(gpu, *args):
    want_losses, want_weights = _train(cpu, *args)
    got_losses, got_weights = _train(gpu, *args)
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-5)
    for got, want in zip(got_weights, want_weights):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_a_cnn_trains_on_the_kernels_as_on_the_cpu(gpu):
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 1, (6, 12, 12, 3)).astype(np.float32)
    labels = rng.integers(0, 5, 6)

    def build():
        return mg.Sequential([nn.Conv2D(4, 3, padding="same", activation="relu"),
                              nn.MaxPooling2D(2), nn.Conv2D(6, 3, strides=2),
                              nn.AveragePooling2D(2, padding="same"), nn.Flatten(), nn.Dense(5)])

    _assert_same_training(gpu, build, images, labels,
                          lambda params: mg.optim.Adam(params, lr=0.01))
    for kernel in ("im2col_f32", "col2im_f32", "max_pool2d_forward_f32",
                   "max_pool2d_backward_f32", "avg_pool2d_forward_f32",
                   "avg_pool2d_backward_f32", "sparse_softmax_cross_entropy_f32",
                   "sparse_softmax_cross_entropy_backward_f32", "adam_step_f32"):
        assert kernel in gpu.launched


def test_an_embedding_bilstm_trains_on_the_kernels_as_on_the_cpu(gpu):
    rng = np.random.default_rng(1)
    ids = rng.integers(0, 30, (5, 9))
    ids[:, :3] = 0  # padding, masked out
    labels = rng.integers(0, 3, 5)

    def build():
        return mg.Sequential([nn.Embedding(30, 6, mask_zero=True),
                              nn.Bidirectional(nn.LSTM(7)), nn.Dense(3)])

    _assert_same_training(gpu, build, ids, labels,
                          lambda params: mg.optim.SGD(params, lr=0.1, momentum=0.9))
    for kernel in ("lstm_step_forward_f32", "lstm_step_backward_f32", "sgd_step_f32",
                   "scatter_add_rows_f32"):
        assert kernel in gpu.launched
