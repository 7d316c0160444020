"""Online update: train an MNIST classifier on part of the data, serve it from a model
repository, then, as new labelled data arrives in chunks, train it further and publish each new
version while a client keeps querying the server -- without a single failed request.

    MINIGRAD_DATA=/path/to/datasets python examples/online_update.py        # 6 x 10000 images
    python examples/online_update.py --limit 1200 --chunks 2 --epochs 1     # a quick run

The training data is cut into ``--chunks`` + 1 equal parts. Version 1 is trained on the first;
each later chunk trains the same model further (``fit`` again: the weights and the Adam state
carry on) and becomes the next version. Each version is published atomically into the
repository (:func:`minigrad.serve.publish_version`: written into a hidden folder, then renamed
to its number), where the server, polling the repository (``--model-control-mode poll``),
loads it in the background, warms it up and swaps it in. Meanwhile a client thread sends
requests of a few test images without pause and checks every answer: its status, and that it
equals ``predict`` of the version its ``model_version`` names. The script prints the test
accuracy of each version and the client's count of requests and failed ones (0).

The server runs in this process (a thread) for the example; ``minigrad serve --repository DIR
--model-control-mode poll`` serves the same repository as a separate service. See
docs/serving.rst, "Updating a served model".
"""

import http.client
import json
import shutil
import threading
import time

import numpy as np

import minigrad as mg
from _common import load, parse_args
from minigrad import nn

NAME = "mnist"


def pixels(images):
    """(N, 28, 28) uint8 images as the (N, 784) float32 values in [0, 1] the model takes."""
    return images.reshape(len(images), 784).astype(np.float32) / 255


class Client(threading.Thread):
    """Queries the server without pause, a few test images per request; counts the requests,
    the failed ones (an error or a status other than 200) and the wrong ones (not what the
    version named by the answer predicts), and the answers of each version."""

    def __init__(self, address, probe, expected):
        super().__init__(daemon=True)
        self.address, self.probe, self.expected = address, probe, expected
        self.stop = threading.Event()
        self.requests = self.failed = self.wrong = 0
        self.per_version = {}
        self.rng = np.random.default_rng(0)

    def run(self):
        connection = http.client.HTTPConnection(self.address, timeout=30)
        while not self.stop.is_set():
            start = int(self.rng.integers(0, len(self.probe) - 4))
            rows = self.probe[start:start + 4]
            body = json.dumps({"inputs": [{"name": "input", "shape": list(rows.shape),
                                           "datatype": "FP32", "data": rows.ravel().tolist()}]})
            self.requests += 1
            try:
                connection.request("POST", f"/v2/models/{NAME}/infer", body,
                                   {"Content-Type": "application/json"})
                response = connection.getresponse()
                answer = json.loads(response.read())
            except (OSError, ValueError, http.client.HTTPException):
                self.failed += 1
                connection.close()
                continue
            if response.status != 200:
                self.failed += 1
                continue
            version = answer["model_version"]
            output = np.array(answer["outputs"][0]["data"], np.float32).reshape(len(rows), 10)
            mine = self.expected.get(version)
            if mine is None or not np.allclose(output, mine[start:start + 4], rtol=1e-4,
                                               atol=1e-6):
                self.wrong += 1
            self.per_version[version] = self.per_version.get(version, 0) + 1
        connection.close()


def start_server(repository, poll_secs):
    """The repository served in a background thread on a free port; returns (app, address,
    stop event, thread)."""
    app = mg.serve.create_app(repository=repository, model_control_mode="poll",
                              repository_poll_secs=poll_secs)
    stop, ready, where = threading.Event(), threading.Event(), {}

    def on_ready(host, port):
        where["address"] = f"{host}:{port}"
        ready.set()

    thread = threading.Thread(target=mg.serve.serve, args=(app,), daemon=True,
                              kwargs=dict(port=0, threads=8, stop=stop, ready=on_ready))
    thread.start()
    if not ready.wait(30):
        raise SystemExit("the server did not start within 30 s")
    return app, where["address"], stop, thread


def wait_for(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {seconds:g} s waiting for the new version")
        time.sleep(0.01)


def main(argv=None):
    import argparse

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument("--chunks", type=int, default=5,
                       help="chunks of new data after the first part (default 5)")
    extra.add_argument("--poll-secs", type=float, default=0.2,
                       help="how often the server scans the repository (default 0.2)")
    options, rest = extra.parse_known_args(argv)
    args = parse_args(rest, __doc__.splitlines()[0] + " Also: --chunks N, --poll-secs S.",
                      "online_update", epochs=1, batch_size=128)
    (x_train, y_train), (x_test, y_test) = load("mnist", args)
    x_train, x_test = pixels(x_train), pixels(x_test)
    parts = np.array_split(np.arange(len(x_train)), options.chunks + 1)
    probe = x_test[:64]  # what the client asks about

    model = mg.Sequential([nn.Dense(128, activation="relu", input_shape=(784,)),
                           nn.Dense(10, activation="softmax")], name=NAME)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    repository = args.output_dir / "repository"
    shutil.rmtree(repository, ignore_errors=True)  # this example's own folder, from a last run
    repository.mkdir(parents=True)

    expected, accuracies, client, server = {}, [], None, None
    try:
        for step, part in enumerate(parts):
            model.fit(x_train[part], y_train[part], batch_size=args.batch_size,
                      epochs=args.epochs, verbose=0, seed=args.seed + step)
            _, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
            accuracies.append(float(accuracy))
            version = str(step + 1)
            expected[version] = model.predict(probe)  # before the client can see it
            published = time.monotonic()
            mg.serve.publish_version(model, repository, NAME, version)
            if server is None:  # version 1: start serving, and querying
                server = start_server(repository, options.poll_secs)
                client = Client(server[1], probe, expected)
                client.start()
            app = server[0]
            wait_for(lambda: app.models.versions(NAME) == [version])
            wait_for(lambda: client.per_version.get(version, 0) > 0 or client.failed)
            print(f"version {version}: trained on {sum(len(p) for p in parts[:step + 1])} "
                  f"images ({len(part)} new), test accuracy {accuracy:.4f}, answering "
                  f"{time.monotonic() - published:.2f} s after its publication")
    finally:
        if client is not None:
            client.stop.set()
            client.join(30)
        if server is not None:
            server[2].set()
            server[3].join(30)
    print(f"client: {client.requests} requests while {len(parts)} versions were served, "
          f"{client.failed} failed, {client.wrong} wrong; answers per version: "
          f"{client.per_version}")
    return {"accuracies": accuracies, "requests": client.requests, "failed": client.failed,
            "wrong": client.wrong, "per_version": dict(client.per_version)}


if __name__ == "__main__":
    result = main()
    if result["failed"] or result["wrong"]:
        raise SystemExit(1)
