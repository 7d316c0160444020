"""A load test of zero-downtime version swaps: clients query a model without pause while new
versions of it are published into a polled model repository. A correctness test, not a timing.

The tool starts ``python -m minigrad serve --repository DIR --model-control-mode poll`` (a
subprocess bound to 127.0.0.1 on a free port) with version 1 of a small classifier, starts
``--clients`` threads that each send inference requests on their own kept-alive connection
for the whole run (binary tensor data, as tritonclient sends it), and publishes ``--versions``
new versions one after another, ``--interval`` seconds apart, each atomically with
:func:`minigrad.serve.publish_version` (and, with ``--broken``, that many truncated versions
in between, which the server must refuse while the version before keeps serving).

Every version has its own weights, and all of them are kept here in memory. After the run,
every answer is checked: its status is 200, its ``model_version`` names a published (not a
broken) version, and its output equals that version's ``model.predict`` for the request's
input -- and not another version's, so a mislabelled answer cannot pass. It reports the
requests sent, the failed and wrong ones (both must be 0), the answers per version, how long
each version took from its publication to its first answer, and the server's load, unload and
failure counters; it exits with status 1 when a request failed, an answer was wrong, a
version was never answered, or a broken version was not refused.

    python -m benchmarks.version_swap_load                      # 64 clients, 10 versions
    python -m benchmarks.version_swap_load --clients 8 --versions 3 --interval 0.5
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from benchmarks.serve_load import (HOST, Connection, decode_response, encode_request,
                                   http_get, http_request)

MODEL_NAME = "swapped"


def make_model(seed, features, classes=10, hidden=64):
    """Version ``seed`` of the classifier: features -> hidden relu -> classes softmax."""
    import minigrad as mg
    from minigrad import nn

    mg.manual_seed(seed)
    return mg.Sequential([nn.Dense(hidden, activation="relu", input_shape=(features,)),
                          nn.Dense(classes, activation="softmax")], name=MODEL_NAME)


def truncate_version(repository, version, model):
    """Publish ``version`` as a truncated file (the first half of a good one), atomically:
    what a crashed copy leaves. The server must refuse it.

    The version is made and cut beside the repository and renamed into it whole: cut in
    place, the server could load the good file first, or see two different broken files (the
    file emptied, then half written) and rightly count two failed loads, as CI once saw on a
    busy machine."""
    from minigrad.serve import publish_version

    staging = Path(tempfile.mkdtemp(prefix=".broken-", dir=Path(repository).parent))
    try:
        publish_version(model, staging, MODEL_NAME, version)
        folder = staging / MODEL_NAME / str(version)
        file = folder / "model.safetensors"
        data = file.read_bytes()
        file.write_bytes(data[:len(data) // 2])
        os.rename(folder, Path(repository) / MODEL_NAME / str(version))
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class PollingServer:
    """``minigrad serve --repository DIR --model-control-mode poll`` in a subprocess."""

    def __init__(self, repository, poll_secs, threads, log_path, timeout=60.0):
        import minigrad

        env = dict(os.environ)
        source = str(Path(minigrad.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join([source, *filter(None, [env.get("PYTHONPATH")])])
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "minigrad", "serve", "--repository", str(repository),
             "--model-control-mode", "poll", "--repository-poll-secs", str(poll_secs),
             "--host", HOST, "--port", "0", "--threads", str(threads), "--quiet",
             "--grace", "10"], stdout=self._log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + timeout
        self.port = None
        while time.monotonic() < deadline:
            found = re.search(rb"serving on http://[^:]+:(\d+)", self.log_path.read_bytes())
            if found and http_get(int(found.group(1)), "/v2/health/ready")[0] == 200:
                self.port = int(found.group(1))
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the server did not start:\n" + self.log())

    def log(self):
        return self.log_path.read_text(errors="replace")[-3000:]

    def versions(self):
        status, body = http_get(self.port, f"/v2/models/{MODEL_NAME}")
        return json.loads(body)["versions"] if status == 200 else []

    def metrics(self):
        """``{metric line name with labels: value}`` of the repository metrics."""
        _, body = http_get(self.port, "/metrics")
        values = {}
        for line in body.decode().splitlines():
            if line.startswith(("minigrad_model_", "minigrad_inference_requests_total")):
                name, value = line.rsplit(" ", 1)
                values[name] = float(value)
        return values

    def stop(self):
        """SIGTERM (graceful), then SIGKILL after 15 s; the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


class Client(threading.Thread):
    """Sends requests (one to four rows of the shared inputs) until told to stop; keeps every
    answer as ``(first row, rows, status, version, output, time)`` for the checks after."""

    def __init__(self, index, port, inputs, stop):
        super().__init__(name=f"client-{index}", daemon=True)
        self.port, self.inputs, self.stop = port, inputs, stop
        self.rng = np.random.default_rng(index)
        self.answers, self.errors = [], []

    def run(self):
        connection = Connection(self.port, timeout=30)
        path = f"/v2/models/{MODEL_NAME}/infer"
        while not self.stop.is_set():
            rows = int(self.rng.integers(1, 5))
            start = int(self.rng.integers(0, len(self.inputs) - rows))
            body, headers = encode_request(self.inputs[start:start + rows], "binary")
            try:
                status, answer_headers, answer = connection.exchange(
                    http_request(path, body, headers))
            except (OSError, ValueError) as exc:
                self.errors.append(repr(exc))
                connection.close()
                continue
            if status != 200:
                self.answers.append((start, rows, status, None, answer[:200], time.monotonic()))
                continue
            size = int(answer_headers["inference-header-content-length"])
            version = json.loads(answer[:size])["model_version"]
            self.answers.append((start, rows, status, version, decode_response(answer, size),
                                 time.monotonic()))
        connection.close()


def check(answers, expected, rtol=1e-4, atol=1e-6):
    """``(wrong, mislabelled, per-version counts)``: answers that equal no version's
    prediction or not their own version's; mislabelled: they equal another version's."""
    wrong = mislabelled = 0
    counts = {}
    for start, rows, status, version, output, _ in answers:
        if status != 200:
            continue
        counts[version] = counts.get(version, 0) + 1
        own = expected.get(version)
        if own is not None and np.allclose(output, own[start:start + rows], rtol, atol):
            continue
        wrong += 1
        if any(np.allclose(output, other[start:start + rows], rtol, atol)
               for v, other in expected.items() if v != version):
            mislabelled += 1
    return wrong, mislabelled, counts


def run(clients=64, versions=10, interval=1.5, poll_secs=0.2, broken=1, features=32,
        threads=None, time_limit=300.0, verbose=True):
    """Run the load test; returns its summary (a dict). See the module docstring."""
    from minigrad.serve import publish_version

    say = print if verbose else (lambda *a, **k: None)
    inputs = np.random.default_rng(0).random((256, features), dtype=np.float32)
    with tempfile.TemporaryDirectory(prefix="version-swap-") as folder:
        repository = Path(folder) / "repository"
        repository.mkdir()
        models, expected, published = {}, {}, {}
        models["1"] = make_model(1, features)
        publish_version(models["1"], repository, MODEL_NAME, 1)
        expected["1"] = models["1"].predict(inputs)
        server = PollingServer(repository, poll_secs, threads or clients + 8,
                               Path(folder) / "server.log")
        stop, refused = threading.Event(), []
        workers = [Client(i, server.port, inputs, stop) for i in range(clients)]
        started = time.monotonic()
        deadline = started + time_limit
        try:
            for worker in workers:
                worker.start()
            time.sleep(interval)
            number = 1
            broken_at = set(np.linspace(2, versions, broken + 2)[1:-1].round().astype(int)) \
                if broken else set()
            for count in range(2, versions + 2):
                if time.monotonic() > deadline:
                    break
                if count in broken_at:  # a broken version first: refused, the old one serves
                    number += 1
                    truncate_version(repository, number, make_model(1000 + number, features))
                    refused.append(str(number))
                    time.sleep(interval)
                number += 1
                version = str(number)
                models[version] = make_model(number, features)
                expected[version] = models[version].predict(inputs)
                published[version] = time.monotonic()
                publish_version(models[version], repository, MODEL_NAME, number)
                say(f"published version {version} ({count - 1}/{versions})")
                time.sleep(interval)
            time.sleep(interval)
        finally:
            stop.set()
            for worker in workers:
                worker.join(60)
            metrics = server.metrics() if server.process.poll() is None else {}
            final = server.versions() if server.process.poll() is None else []
            exit_status = server.stop()
        answers = [a for w in workers for a in w.answers]
        errors = [e for w in workers for e in w.errors]
        failed = len(errors) + sum(1 for a in answers if a[2] != 200)
        wrong, mislabelled, counts = check(answers, expected)
        first = {}
        for _, _, status, version, _, when in answers:
            if status == 200:
                first[version] = min(first.get(version, when), when)
        delays = [first[v] - published[v] for v in published if v in first]
        summary = {
            "clients": clients, "versions_published": len(published),
            "broken_published": len(refused), "seconds": round(time.monotonic() - started, 1),
            "requests": len(answers) + len(errors), "failed": failed, "wrong": wrong,
            "mislabelled": mislabelled,
            "answers_per_version": dict(sorted(counts.items(), key=lambda kv: int(kv[0]))),
            "unanswered_versions": sorted(set(published) - set(first), key=int),
            "answered_broken_versions": sorted(set(refused) & set(counts), key=int),
            "publish_to_first_answer_s": [round(min(delays), 3), round(max(delays), 3)]
            if delays else None,
            "loads": metrics.get(f'minigrad_model_loads_total{{model="{MODEL_NAME}"}}'),
            "unloads": metrics.get(f'minigrad_model_unloads_total{{model="{MODEL_NAME}"}}'),
            "load_failures": metrics.get(
                f'minigrad_model_load_failures_total{{model="{MODEL_NAME}"}}', 0.0),
            "served_at_end": final, "server_exit_status": exit_status,
            "first_errors": errors[:3]}
        if failed or wrong:
            summary["server_log"] = server.log()
        summary["ok"] = bool(
            not failed and not wrong and not summary["unanswered_versions"]
            and not summary["answered_broken_versions"]
            and summary["load_failures"] == len(refused) and exit_status == 0
            and final == [max(published, key=int)] if published else False)
        return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--versions", type=int, default=10, help="new versions to publish")
    parser.add_argument("--interval", type=float, default=1.5,
                        help="seconds between two publications")
    parser.add_argument("--poll-secs", type=float, default=0.2,
                        help="the server's --repository-poll-secs")
    parser.add_argument("--broken", type=int, default=1,
                        help="truncated versions published in between (refused)")
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None,
                        help="the server's --threads (default: clients + 8)")
    parser.add_argument("--time-limit", type=float, default=300.0)
    args = parser.parse_args(argv)
    summary = run(args.clients, args.versions, args.interval, args.poll_secs, args.broken,
                  args.features, args.threads, args.time_limit)
    log = summary.pop("server_log", None)
    print(json.dumps(summary, indent=2))
    if log:
        print(log)
    print("OK: no failed request, every answer from the version it names" if summary["ok"]
          else "FAILED")
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
