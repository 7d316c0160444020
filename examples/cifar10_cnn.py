"""CIFAR-10 with the CNN of the TensorFlow tutorial: Conv2D 32 -> MaxPool -> Conv2D 64 ->
MaxPool -> Conv2D 64 -> Flatten -> Dense 64 -> Dense 10 (logits), on channels-last
(N, 32, 32, 3) images in [0, 1], Adam, 10 epochs; about 70% test accuracy.

    MINIGRAD_DATA=/path/to/datasets python examples/cifar10_cnn.py
    MINIGRAD_DATA=/path/to/datasets mpiexec -n 2 python examples/cifar10_cnn.py --distributed
"""

import numpy as np

import minigrad as mg
from _common import load, parse_args, train_and_report
from minigrad import nn

CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


def main(argv=None):
    args = parse_args(argv, __doc__.splitlines()[0], "cifar10_cnn", epochs=10, batch_size=32)
    (x_train, y_train), (x_test, y_test) = load("cifar10", args)
    x_train = x_train.astype(np.float32) / 255      # (N, 32, 32, 3) in [0, 1]
    x_test = x_test.astype(np.float32) / 255
    y_train, y_test = y_train.reshape(-1), y_test.reshape(-1)   # labels come as (N, 1)

    model = mg.Sequential([
        nn.Conv2D(32, 3, activation="relu", input_shape=(32, 32, 3)),
        nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"),
        nn.MaxPooling2D(),
        nn.Conv2D(64, 3, activation="relu"),
        nn.Flatten(),
        nn.Dense(64, activation="relu"),
        nn.Dense(10),
    ])
    model.compile(optimizer="adam",
                  loss=nn.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.summary(print_fn=print if args.rank == 0 else None)
    return train_and_report(model, args, "cifar10_cnn", x_train, y_train, x_test, y_test)


if __name__ == "__main__":
    main()
