"""Serve the MNIST MLP over HTTP: train it (or load a saved one), save it, and answer predictions
with minigrad's model server (the Open Inference Protocol, as Triton and KServe speak it).

    MINIGRAD_DATA=/path/to/datasets python examples/serve_mnist.py     # train 5 epochs, serve
    python examples/serve_mnist.py --model examples/output/mnist_mlp/mnist_mlp.safetensors
    python examples/serve_mnist.py --limit 256 --epochs 1 --check      # one request, then exit

While it serves (on 127.0.0.1:8000 unless --host/--port say otherwise; Ctrl-C stops it after
the requests in flight), ask it for a prediction:

    curl -s localhost:8000/v2/models/mnist
    curl -s localhost:8000/v2/models/mnist/infer -d '{"inputs": [{"name": "input",
        "shape": [1, 784], "datatype": "FP32", "data": [0, 0, ..., 0]}]}'

--check serves on a free port in a background thread, sends the first test image with urllib,
prints the predicted digit next to the label, checks that the answer over HTTP is what
model.predict gives, and exits. See docs/serving.rst for the clients, the options and
scale-out.
"""

import argparse
import json
import logging
import threading
import urllib.request
from pathlib import Path

import numpy as np

import minigrad as mg
from _common import load, parse_args, train_and_report
from minigrad import nn

SERVING = argparse.ArgumentParser(add_help=False)
SERVING.add_argument("--model", type=Path, help="serve this saved model instead of training one")
SERVING.add_argument("--host", default="127.0.0.1")
SERVING.add_argument("--port", type=int, default=8000)
SERVING.add_argument("--threads", type=int, default=16)
SERVING.add_argument("--max-batch-size", type=int, default=64)
SERVING.add_argument("--batch-timeout-ms", type=float, default=0.0)
SERVING.add_argument("--check", action="store_true",
                     help="serve on a free port, send one test image, print the answer, exit")
SERVING_HELP = ("Serving options: --model PATH (no training), --host (127.0.0.1), --port (8000), "
                "--threads (16), --max-batch-size (64), --batch-timeout-ms (0), --check.")


def train(args):
    """The MNIST MLP (784 -> 512 -> 512 -> 10, as in mnist_mlp.py), trained and saved; returns
    the model file."""
    (x_train, y_train), (x_test, y_test) = load("mnist", args)
    model = mg.Sequential([
        nn.Dense(512, activation="relu", input_shape=(784,)),
        nn.Dense(512, activation="relu"),
        nn.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    train_and_report(model, args, "mnist", pixels(x_train), y_train, pixels(x_test), y_test)
    return args.output_dir / "mnist.safetensors"


def pixels(images):
    """(N, 28, 28) uint8 images as the (N, 784) float32 values in [0, 1] the model takes."""
    return images.reshape(len(images), 784).astype(np.float32) / 255


def ask(address, image):
    """The model's class probabilities (10,) for one image, over HTTP with the standard library
    only: a JSON inference request as the Open Inference Protocol writes it."""
    request = {"inputs": [{"name": "input", "shape": [1, 784], "datatype": "FP32",
                           "data": pixels(image[None]).ravel().tolist()}]}
    http_request = urllib.request.Request(
        f"http://{address}/v2/models/mnist/infer", data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(http_request, timeout=30) as response:
        output = json.load(response)["outputs"][0]
    return np.array(output["data"], dtype=np.float32).reshape(output["shape"])[0]


def check(app, model_file, args):
    """Serve ``app`` on a free port in a thread, ask for the first test image, stop."""
    _, (x_test, y_test) = load("mnist", args)
    stop, ready, where = threading.Event(), threading.Event(), {}

    def on_ready(host, port):
        where["address"] = f"{host}:{port}"
        ready.set()

    server = threading.Thread(target=mg.serve.serve, args=(app,), daemon=True, kwargs=dict(
        host=args.host, port=0, threads=args.threads, stop=stop, ready=on_ready))
    server.start()
    if not ready.wait(30):
        raise SystemExit("the server did not start within 30 s")
    try:
        probabilities = ask(where["address"], x_test[0])
    finally:
        stop.set()
        server.join(30)
    predicted, label = int(probabilities.argmax()), int(y_test[0])
    print(f"served on http://{where['address']}: predicted {predicted} "
          f"(probability {probabilities[predicted]:.3f}), label {label}")
    local = mg.load_model(model_file).predict(pixels(x_test[:1]))[0]
    if not np.allclose(probabilities, local, rtol=1e-6, atol=1e-7):
        raise SystemExit(f"the answer over HTTP {probabilities} differs from model.predict "
                         f"{local}")
    print("the answer over HTTP equals model.predict")
    return predicted, label


def main(argv=None):
    serving, rest = SERVING.parse_known_args(argv)
    args = parse_args(rest, f"{__doc__.splitlines()[0]} {SERVING_HELP}", "serve_mnist",
                      epochs=5, batch_size=128)
    model_file = serving.model or train(args)
    app = mg.serve.create_app(model_file, name="mnist", max_batch_size=serving.max_batch_size,
                              batch_timeout_ms=serving.batch_timeout_ms)
    args.host, args.threads = serving.host, serving.threads
    if serving.check:
        return check(app, model_file, args)
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # the access log, on stderr
    print(f"serving {model_file} as 'mnist' on http://{serving.host}:{serving.port} "
          "(Ctrl-C stops)")
    cut = mg.serve.serve(app, host=serving.host, port=serving.port, threads=serving.threads)
    if cut:  # requests still unanswered at the shutdown deadline: say so in the exit status
        raise SystemExit(1)
    return None


if __name__ == "__main__":
    main()
