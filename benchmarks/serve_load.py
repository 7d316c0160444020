"""A bounded load test of ``minigrad serve``: throughput and latency with and without dynamic
batching, every answer checked.

For each configuration the tool starts ``python -m minigrad serve`` (a subprocess bound to
127.0.0.1 on a free port), warms it up, then lets ``--clients`` threads, each with its own
kept-alive connection, send ``--requests`` inference requests between them as fast as the
answers come back (a closed loop: a client sends its next request when its last one is
answered). The load generator shares the CPU with the server, so it costs as little as it
can: the requests are encoded before the clock starts (byte for byte what tritonclient sends,
binary tensor data or JSON), a minimal HTTP/1.1 client sends them on raw sockets (a third of
``http.client``'s CPU time), and the answers are checked after the clock stops.

It reports, per configuration: requests per second, p50/p99 latency as the clients see it,
the server's CPU time per request, its resident memory (VmRSS) after the warm-up and after the
run, its thread count, and the rows per forward pass from its ``/metrics``; then the throughput
of each batching configuration over the unbatched one. It exits with status 1 when a request
failed, an answer was wrong (compared with ``model.predict`` run here), the server's memory grew
by more than ``--max-rss-growth-mb``, or a run hit ``--time-limit``.

    python -m benchmarks.serve_load                        # MNIST MLP, 64 clients, 4 configs
    python -m benchmarks.serve_load --configs off,64:0 --clients 16 --requests 2000
    python -m benchmarks.serve_load --encoding json --threads 8
    python -m benchmarks.serve_load --configs 64:0 --server granian   # the same app on granian
    python -m benchmarks.serve_load --model model.onnx     # onnxruntime against minigrad

``--model model.onnx`` serves an ONNX file (``minigrad serve`` runs it through onnxruntime) and,
in the same run, the same model saved by minigrad (``--native``, by default ``model.safetensors``
beside it), configuration by configuration: each ``onnx:`` row is the exported model under the
same load, every answer checked against the minigrad model's ``predict``, and the report gives
the throughput of ONNX serving over native serving for each configuration. onnxruntime gets
``--server-blas-threads`` intra-op threads, as the native server gets BLAS threads. An int8
export (``mg.quantize``, then export) is compared with the quantized minigrad model; onnxruntime's
integer kernels quantize the activations too, so give it ``--onnx-atol 1e-2``.

``--server gunicorn`` or ``--server granian`` serves the same app on gunicorn's gthread worker
or granian's WSGI server (one process, ``--threads`` threads) instead of ``minigrad serve``'s
waitress, to compare HTTP servers.

A configuration is ``off`` (``--max-batch-size 0``) or ``B:T`` (``--max-batch-size B
--batch-timeout-ms T``); ``floor:`` before either serves a single linear layer with the same
request and answer sizes instead of the model, whose forward pass costs next to nothing. That
measures what every request costs the server besides the model (HTTP in waitress, the
protocol, metrics, the batching itself), which batching cannot share: ``floor:B:T`` / ``off``
is the most that batching ``B:T`` could give with a model of any cost.
The model is the MNIST MLP (784-512-512-10, ReLU, softmax) trained
for ``--epochs`` on the real data when ``--data-dir`` (or ``$MINIGRAD_DATA``) holds mnist/,
otherwise left untrained and fed random images (the cost of serving it is the same); or a saved
model given with ``--model``.
"""

import argparse
import http.client
import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HOST = "127.0.0.1"  # the load test never leaves this machine
MODEL_NAME = "mnist_mlp"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


# --- the model and the expected answers ---------------------------------------------------------
def mnist_mlp(seed=0):
    """The MNIST MLP of examples/mnist_mlp.py: 784 -> 512 relu -> 512 relu -> 10 softmax."""
    import minigrad as mg
    from minigrad import nn

    mg.manual_seed(seed)
    model = mg.Sequential([
        nn.Dense(512, activation="relu", input_shape=(784,)),
        nn.Dense(512, activation="relu"),
        nn.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def prepare_model(args, folder):
    """``(path of the saved model, the images to send (N, 784) float32, a description)``."""
    import minigrad as mg

    if args.model is not None:
        model = mg.load_model(args.model, compile=False)
        shape = getattr(model, "build_input_shape", None)
        if shape is None:
            raise SystemExit(f"--model {args.model}: the model has no input shape")
        images = np.random.default_rng(0).random((args.samples, *shape), dtype=np.float32)
        return Path(args.model), images, f"{args.model} (random inputs)"
    model = mnist_mlp(args.seed)
    if args.data_dir and (Path(args.data_dir) / "mnist").is_dir():
        (x_train, y_train), (x_test, y_test) = mg.datasets.mnist.load_data(root=args.data_dir)
        x_train = x_train.reshape(len(x_train), 784).astype(np.float32) / 255
        images = x_test.reshape(len(x_test), 784).astype(np.float32)[:args.samples] / 255
        start = time.perf_counter()
        model.fit(x_train, y_train, batch_size=128, epochs=args.epochs, verbose=0,
                  seed=args.seed)
        _, accuracy = model.evaluate(images, y_test[:args.samples], batch_size=1000, verbose=0)
        description = (f"MNIST MLP trained {args.epochs} epoch(s) in "
                       f"{time.perf_counter() - start:.0f} s, test accuracy {accuracy:.4f} on the "
                       f"{len(images)} test images sent")
    else:
        images = np.random.default_rng(args.seed).random((args.samples, 784), dtype=np.float32)
        description = "MNIST MLP, untrained (no mnist/ in --data-dir), random images"
    path = Path(folder) / f"{MODEL_NAME}.safetensors"
    model.save(path, include_optimizer=False)
    return path, images, description


def native_of(args):
    """The minigrad model file to compare ``--model model.onnx`` with: ``--native``, else
    ``model.safetensors`` beside it."""
    native = args.native or args.model.with_suffix(".safetensors")
    if not Path(native).is_file():
        raise SystemExit(f"--model {args.model}: an ONNX model is measured against the same model "
                         f"served by minigrad; no {native} (name it with --native)")
    return Path(native)


def onnx_names(path):
    """``(input name, output name)`` of the ONNX file ``path``, as the server reads them."""
    from minigrad.serve.onnx_model import OnnxServedModel

    served = OnnxServedModel(MODEL_NAME, 1, path, threads=1)
    return served.input.name, served.output.name


def floor_model(model_path, folder, seed=0):
    """The path of the cheapest model with the same request as the one at ``model_path`` and
    an answer of the same size: one linear layer (after Flatten for images) whose forward pass
    costs next to nothing. Served, it measures the server's fixed cost per request (HTTP, the
    protocol, metrics), which no batching can remove."""
    import minigrad as mg
    from minigrad import nn

    served = mg.load_model(model_path, compile=False)
    input_shape = tuple(served.build_input_shape)
    probe = np.zeros((1, *input_shape), dtype=np.float32)
    width = int(np.prod(served.predict(probe).shape[1:]))
    mg.manual_seed(seed)
    if len(input_shape) > 1:
        layers = [nn.Flatten(input_shape=input_shape), nn.Dense(width, activation="softmax")]
    else:
        layers = [nn.Dense(width, activation="softmax", input_shape=input_shape)]
    path = Path(folder) / "floor.safetensors"
    mg.Sequential(layers).save(path)
    return path


def expected_outputs(model_path, images):
    """What the saved model answers for ``images``, computed here with ``model.predict``."""
    import minigrad as mg

    model = mg.load_model(model_path, compile=False)
    return model.predict(images, batch_size=256)


# --- requests and answers on the wire -----------------------------------------------------------
def encode_request(rows, encoding, input_name="input", output_name="output"):
    """``(body, headers)`` of one inference request for the float32 batch ``rows``, byte for
    byte what tritonclient's ``InferenceServerClient.infer`` sends.

    ``binary``: the JSON header, then the raw little-endian tensor, with the output asked for
    as binary too (``InferInput.set_data_from_numpy(x)`` and
    ``InferRequestedOutput("output", binary_data=True)``). ``json``: the values as a JSON list,
    the output as JSON too (``binary_data=False`` on both).
    """
    rows = np.ascontiguousarray(rows, dtype="<f4")
    tensor = {"name": input_name, "shape": list(rows.shape), "datatype": "FP32"}
    binary = encoding == "binary"
    if binary:
        raw = rows.tobytes()
        tensor["parameters"] = {"binary_data_size": len(raw)}
    else:
        tensor["data"] = rows.ravel().tolist()
    request = {"inputs": [tensor],
               "outputs": [{"name": output_name, "parameters": {"binary_data": binary}}]}
    header = json.dumps(request, separators=(",", ":")).encode()
    if not binary:
        return header, {"Content-Type": "application/json"}
    return header + raw, {"Content-Type": "application/octet-stream",
                          "Inference-Header-Content-Length": str(len(header))}


def http_request(path, body, headers):
    """The bytes of an HTTP/1.1 POST of ``body`` (sent as they are, on a kept-alive
    connection)."""
    lines = [f"POST {path} HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def decode_response(body, header_length):
    """The output tensor of an inference answer (binary when ``header_length`` is given)."""
    header = json.loads(body if header_length is None else body[:header_length])
    (output,) = header["outputs"]
    shape = output["shape"]
    if header_length is None:
        return np.asarray(output["data"], dtype=np.float32).reshape(shape)
    raw = body[header_length:header_length + output["parameters"]["binary_data_size"]]
    return np.frombuffer(raw, dtype="<f4").reshape(shape)


class Connection:
    """A minimal HTTP/1.1 client on one kept-alive socket: it sends pre-encoded requests and
    reads answers that carry a Content-Length (all of the server's do). Much cheaper than
    ``http.client``, whose header parsing would take CPU time from the server being measured.
    """

    def __init__(self, port, timeout):
        self.port, self.timeout = port, timeout
        self.sock, self.buffer = None, b""

    def exchange(self, request):
        """Send ``request`` (bytes) and return ``(status, {header: value}, body)``; header
        names are lower case. Raises OSError or ValueError on a broken answer."""
        if self.sock is None:
            self.sock = socket.create_connection((HOST, self.port), timeout=self.timeout)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        else:
            self.sock.settimeout(self.timeout)
        self.sock.sendall(request)
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            self._receive()
        status_line, *lines = self.buffer[:end].decode("latin-1").split("\r\n")
        self.buffer = self.buffer[end + 4:]
        status = int(status_line.split(" ", 2)[1])
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            self._receive()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _receive(self):
        chunk = self.sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self.buffer += chunk

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buffer = None, b""


# --- the server -------------------------------------------------------------------------------
#: The HTTP servers the app can be measured on: ``minigrad serve`` (waitress), and, for
#: comparison, gunicorn's gthread worker and granian's WSGI server, each with one process
#: (dynamic batching merges the requests of one process) and ``--threads`` threads.
SERVERS = ("waitress", "gunicorn", "granian")


def app_from_environment():
    """The app that gunicorn or granian serve: the model and batching named by the
    ``SERVE_LOAD_*`` environment variables that :class:`Server` sets."""
    from minigrad.serve import create_app

    return create_app(os.environ["SERVE_LOAD_MODEL"], name=MODEL_NAME,
                      max_batch_size=int(os.environ["SERVE_LOAD_MAX_BATCH_SIZE"]),
                      batch_timeout_ms=float(os.environ["SERVE_LOAD_BATCH_TIMEOUT_MS"]))


def server_command(kind, model_path, port, threads, max_batch_size, batch_timeout_ms):
    """The command line that serves ``model_path`` on ``kind`` (one of :data:`SERVERS`)."""
    if kind == "waitress":
        return [sys.executable, "-m", "minigrad", "serve", str(model_path), "--name",
                MODEL_NAME, "--host", HOST, "--port", str(port), "--threads", str(threads),
                "--max-batch-size", str(max_batch_size), "--batch-timeout-ms",
                str(batch_timeout_ms), "--quiet", "--grace", "5"]
    if kind == "gunicorn":
        return [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "gthread", "--threads",
                str(threads), "-b", f"{HOST}:{port}", "--log-level", "warning",
                "--graceful-timeout", "5", "benchmarks.serve_load:app_from_environment()"]
    if kind == "granian":
        return [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", HOST,
                "--port", str(port), "--workers", "1", "--blocking-threads", str(threads),
                "--log-level", "warning", "--factory",
                "benchmarks.serve_load:app_from_environment"]
    raise ValueError(f"unknown server {kind!r}: expected one of {', '.join(SERVERS)}")


def free_port():
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """``python -m minigrad serve`` (or gunicorn or granian serving the same app: ``kind``) in
    a subprocess on 127.0.0.1 and a free port."""

    def __init__(self, model_path, max_batch_size, batch_timeout_ms, threads, blas_threads,
                 log_path, cpus=None, start_timeout=60.0, kind="waitress"):
        # minigrad serve picks a free port itself and logs it; the others are given one.
        port = 0 if kind == "waitress" else free_port()
        command = server_command(kind, model_path, port, threads, max_batch_size,
                                 batch_timeout_ms)
        self.kind, self.port = kind, port
        import minigrad

        # The server runs the minigrad that this process checks its answers with, whatever
        # the current directory (the server's is the log's folder).
        env = dict(os.environ)
        source = str(Path(minigrad.__file__).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join([source, *filter(None, [env.get("PYTHONPATH")])])
        env.update(SERVE_LOAD_MODEL=str(Path(model_path).resolve()),
                   SERVE_LOAD_MAX_BATCH_SIZE=str(max_batch_size),
                   SERVE_LOAD_BATCH_TIMEOUT_MS=str(batch_timeout_ms))
        if blas_threads:
            for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                         "NUMBA_NUM_THREADS", "MINIGRAD_ONNX_THREADS"):
                env[name] = str(blas_threads)
        self.log_path = Path(log_path)
        self._log = open(self.log_path, "wb")
        # Affinity set before exec is inherited by every thread the server starts.
        pin = (lambda: os.sched_setaffinity(0, cpus)) if cpus else None
        self.process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env, cwd=self.log_path.parent, preexec_fn=pin)
        self.pid = self.process.pid
        try:
            self.port = self._wait_listening(start_timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(rb"serving on http://[^:]+:(\d+)", self.log_path.read_bytes())
            if found or self.port:
                port = int(found.group(1)) if found else self.port
                status, _ = http_get(port, "/v2/health/ready")
                if status == 200:
                    return port
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with status {self.process.returncode}:\n"
                                   + self.log_path.read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer within {timeout:g} s:\n"
                           + self.log_path.read_text(errors="replace")[-2000:])

    def _status(self, key):
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise KeyError(key)

    def rss_mb(self):
        """Resident memory now (VmRSS), in MB."""
        return self._status("VmRSS") * 1024 / 1e6

    def thread_count(self):
        return self._status("Threads")

    def cpu_seconds(self):
        """User + system CPU time the server has used so far."""
        with open(f"/proc/{self.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime

    def metrics(self):
        status, body = http_get(self.port, "/metrics")
        if status != 200:
            raise RuntimeError(f"GET /metrics answered {status}")
        return body.decode()

    def stop(self):
        """SIGTERM (graceful shutdown), then SIGKILL if it takes more than 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def http_get(port, path, timeout=5.0):
    """``(status, body)`` of a GET on the server, or ``(None, b"")`` when it does not answer."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return None, b""
    finally:
        connection.close()


def busy_cpu_seconds():
    """CPU time all processes on this machine have used so far (from /proc/stat)."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def batch_sizes(before, after, model=MODEL_NAME):
    """``{upper bucket bound: forward passes}`` between two ``/metrics`` texts, from the
    ``minigrad_batch_size`` histogram (empty when batching is off)."""
    pattern = re.compile(r'^minigrad_batch_size_bucket\{(?=[^}]*model="' + re.escape(model)
                         + r'")[^}]*le="([^"]+)"[^}]*\} (\S+)$', re.M)

    def cumulative(text):
        return {float(le): float(count) for le, count in pattern.findall(text)}

    start, end = cumulative(before), cumulative(after)
    counts, below = {}, 0.0
    for bound in sorted(end):
        total = end[bound] - start.get(bound, 0.0)
        if total - below > 0:
            counts[bound] = int(total - below)
        below = total
    return counts


# --- the load -------------------------------------------------------------------------------
@dataclass
class Load:
    """What one run of the clients saw: for each request sent, which sample it carried, its
    status (None: no answer), the answer's body and binary header length, and its latency."""

    sample: list = field(default_factory=list)
    status: list = field(default_factory=list)
    body: list = field(default_factory=list)
    header_length: list = field(default_factory=list)
    latency: list = field(default_factory=list)
    seconds: float = 0.0
    timed_out: bool = False

    @property
    def count(self):
        return len(self.status)


def run_load(port, requests, clients, count, time_limit):
    """Send ``count`` requests from ``clients`` threads, each on its own kept-alive
    connection; request ``i`` is ``requests[i % len(requests)]`` (bytes, see
    :func:`http_request`).

    Stops when ``time_limit`` seconds have passed (then ``Load.timed_out`` is true). The
    answers are kept, not checked: see :func:`check_answers`.
    """
    load = Load()
    lock = threading.Lock()
    counter = iter(range(count))
    start_line = threading.Barrier(clients + 1)

    def client():
        connection = Connection(port, timeout=time_limit)
        records = []
        start_line.wait()
        try:
            while time.perf_counter() < deadline:
                with lock:
                    index = next(counter, None)
                if index is None:
                    break
                began = time.perf_counter()
                connection.timeout = max(0.01, deadline - began)
                try:
                    status, headers, answer = connection.exchange(
                        requests[index % len(requests)])
                    length = headers.get("inference-header-content-length")
                except (OSError, ValueError, KeyError, IndexError) as exc:
                    connection.close()  # the next request opens a new connection
                    if isinstance(exc, TimeoutError) and time.perf_counter() >= deadline:
                        break  # cut off by the time limit, which the run reports
                    status, answer, length = None, repr(exc).encode(), None
                records.append((index, status, answer, length, time.perf_counter() - began))
        finally:
            connection.close()
            with lock:
                for index, status, answer, length, seconds in records:
                    load.sample.append(index % len(requests))
                    load.status.append(status)
                    load.body.append(answer)
                    load.header_length.append(None if length is None else int(length))
                    load.latency.append(seconds)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline = began + time_limit
    start_line.wait()
    for thread in threads:
        thread.join(max(0.0, deadline + 5.0 - time.perf_counter()))
    load.seconds = time.perf_counter() - began
    load.timed_out = load.count < count or any(thread.is_alive() for thread in threads)
    return load


def check_answers(load, expected, rtol=1e-4, atol=1e-5):
    """``(errors, wrong, examples)``: requests that failed or got a status other than 200,
    answers that differ from ``expected[sample]`` (shape, or a value beyond the tolerance),
    and a few messages describing them."""
    errors = wrong = 0
    examples = []
    for sample, status, body, length in zip(load.sample, load.status, load.body,
                                            load.header_length):
        if status != 200:
            errors += 1
            if len(examples) < 3:
                examples.append(f"status {status}: {body[:200]!r}")
            continue
        try:
            answer = decode_response(body, length)
        except (ValueError, KeyError, TypeError) as exc:
            wrong += 1
            if len(examples) < 3:
                examples.append(f"unreadable answer ({exc}): {body[:200]!r}")
            continue
        want = expected[sample]
        if answer.shape != want.shape or not np.allclose(answer, want, rtol=rtol, atol=atol):
            wrong += 1
            if len(examples) < 3:
                examples.append(f"sample {sample}: got {answer.ravel()[:4]}..., expected "
                                f"{want.ravel()[:4]}...")
    return errors, wrong, examples


# --- one configuration -------------------------------------------------------------------------
@dataclass
class Figures:
    """One configuration's measurements."""

    config: str
    requests: int
    seconds: float
    throughput: float
    p50_ms: float
    p99_ms: float
    errors: int
    wrong: int
    timed_out: bool
    rss_before_mb: float
    rss_after_mb: float
    server_threads: int
    server_cpu_ms: float  # per request
    client_cpu_ms: float  # per request
    other_cores: float  # CPU cores busy with anything else (other processes, the kernel)
    batches: dict
    examples: list
    rows_per_request: int = 1

    @property
    def mean_batch(self):
        """Rows per forward pass, on average."""
        passes = sum(self.batches.values())
        rows = self.requests * self.rows_per_request
        return rows / passes if passes else float(self.rows_per_request)

    def histogram(self):
        """The share of forward passes in each bucket of rows, e.g. ``<=8:30% <=16:45%``."""
        if not self.batches:
            return f"{self.rows_per_request} (batching off)"
        passes = sum(self.batches.values())
        return " ".join(f"<={bound:g}:{100 * n / passes:.0f}%"
                        for bound, n in sorted(self.batches.items()))


def parse_config(text):
    """``"off"`` -> ``(0, 0.0)``; ``"B:T"`` -> ``(B, T)``; ``"B"`` -> ``(B, 0.0)``; the same
    for ``"floor:..."`` (the free model, see :func:`floor_model`)."""
    if text.startswith("floor:"):
        text = text[len("floor:"):]
    if text == "off":
        return 0, 0.0
    size, _, timeout = text.partition(":")
    try:
        return int(size), float(timeout or 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"configuration {text!r}: expected 'off' or "
                                          "'MAX_BATCH_SIZE:TIMEOUT_MS' (e.g. 64:2), either "
                                          "optionally after 'floor:'") from None


def measure(config, model_path, requests, expected, args, log_path):
    """Start a server for ``config`` (``onnx:`` before it: the ONNX model's run of it), warm
    it up, load it, check every answer."""
    max_batch_size, timeout_ms = parse_config(config.removeprefix("onnx:"))
    atol = args.onnx_atol if config.startswith("onnx:") else 1e-5
    with Server(model_path, max_batch_size, timeout_ms, args.threads, args.server_blas_threads,
                log_path, cpus=args.server_cpus, kind=args.server) as server:
        warmup = run_load(server.port, requests, args.clients, args.clients * args.warmup,
                          args.time_limit)
        warm_errors, warm_wrong, warm_examples = check_answers(warmup, expected, atol=atol)
        rss_before = server.rss_mb()
        metrics_before = server.metrics()
        cpu_before, client_cpu_before = server.cpu_seconds(), time.process_time()
        busy_before = busy_cpu_seconds()
        load = run_load(server.port, requests, args.clients, args.requests, args.time_limit)
        server_cpu = server.cpu_seconds() - cpu_before
        client_cpu = time.process_time() - client_cpu_before
        other_cpu = busy_cpu_seconds() - busy_before - server_cpu - client_cpu
        rss_after = server.rss_mb()
        threads = server.thread_count()
        batches = batch_sizes(metrics_before, server.metrics())
    errors, wrong, examples = check_answers(load, expected, atol=atol)
    latency = np.array(load.latency) * 1e3
    count = max(load.count, 1)
    return Figures(
        config=config, requests=load.count, seconds=load.seconds,
        throughput=load.count / load.seconds,
        p50_ms=float(np.percentile(latency, 50)) if load.count else float("nan"),
        p99_ms=float(np.percentile(latency, 99)) if load.count else float("nan"),
        errors=errors + warm_errors, wrong=wrong + warm_wrong,
        timed_out=load.timed_out or warmup.timed_out,
        rss_before_mb=rss_before, rss_after_mb=rss_after, server_threads=threads,
        server_cpu_ms=server_cpu / count * 1e3, client_cpu_ms=client_cpu / count * 1e3,
        other_cores=max(0.0, other_cpu / load.seconds),
        batches=batches, examples=warm_examples + examples, rows_per_request=args.rows)


def report(results, args):
    """The table, the ratios and the verdicts; returns the list of problems found."""
    print(f"\n{'config':<10} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} "
          f"{'errors':>6} {'wrong':>5} {'RSS MB before->after':>21} {'srv threads':>11} "
          f"{'srv CPU ms/req':>14} {'cli CPU ms/req':>14} {'other cores':>11} {'rows/pass':>9}")
    problems = []
    for r in results:
        print(f"{r.config:<10} {r.requests:>8} {r.throughput:>8.0f} {r.p50_ms:>8.2f} "
              f"{r.p99_ms:>8.2f} {r.errors:>6} {r.wrong:>5} "
              f"{r.rss_before_mb:>9.1f} -> {r.rss_after_mb:>7.1f} {r.server_threads:>11} "
              f"{r.server_cpu_ms:>14.3f} {r.client_cpu_ms:>14.3f} {r.other_cores:>11.2f} "
              f"{r.mean_batch:>9.1f}")
        if r.errors or r.wrong:
            problems.append(f"{r.config}: {r.errors} failed request(s), {r.wrong} wrong "
                            f"answer(s); e.g. " + "; ".join(r.examples))
        if r.timed_out:
            problems.append(f"{r.config}: stopped by --time-limit {args.time_limit:g} s after "
                            f"{r.requests} of {args.requests} requests")
        growth = r.rss_after_mb - r.rss_before_mb
        if growth > args.max_rss_growth_mb:
            problems.append(f"{r.config}: the server's memory grew by {growth:.1f} MB over the "
                            f"run (limit {args.max_rss_growth_mb:g} MB)")
    print()
    for r in results:
        print(f"rows per forward pass, {r.config}: {r.histogram()}")
    native = [r for r in results if not r.config.startswith("onnx:")]
    onnx = {r.config[len("onnx:"):]: r for r in results if r.config.startswith("onnx:")}
    batching_ratios(native, args, "off")
    if onnx:
        batching_ratios(list(onnx.values()), args, "onnx:off")
        for r in native:
            if r.config in onnx:
                other = onnx[r.config]
                print(f"throughput onnx / minigrad, {r.config}: "
                      f"{other.throughput / r.throughput:.2f}x (p50 {other.p50_ms:.2f} vs "
                      f"{r.p50_ms:.2f} ms, server CPU/request {other.server_cpu_ms:.3f} vs "
                      f"{r.server_cpu_ms:.3f} ms)")
    return problems


def batching_ratios(results, args, off):
    """Print each batching configuration's throughput over the unbatched one (``off``)."""
    baseline = next((r for r in results if r.config == off), None)
    if baseline is not None:
        floors = {r.config[len("floor:"):]: r for r in results if r.config.startswith("floor:")}
        for r in results:
            if r is baseline or r.config.startswith("floor:"):
                continue
            ratio = r.throughput / baseline.throughput
            verdict = "ok" if ratio >= args.target_ratio else "BELOW TARGET"
            line = (f"throughput {r.config} / {off}: {ratio:.2f}x (target >= "
                    f"{args.target_ratio:g}x: {verdict})")
            floor = floors.get(r.config)
            if floor is not None:
                line += (f"; with a free model (floor:{r.config}) at most "
                         f"{floor.throughput / baseline.throughput:.2f}x")
            print(line)


# --- command line -----------------------------------------------------------------------------
def cpu_list(text):
    """``"0,2"`` -> ``{0, 2}``."""
    try:
        return {int(cpu) for cpu in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected CPU numbers like 0 or 0,1, got {text!r}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve_load",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", default="off,64:0,64:2,floor:64:0,floor:64:2",
                        help="comma-separated server configurations: 'off' (no dynamic "
                        "batching) or MAX_BATCH_SIZE:BATCH_TIMEOUT_MS, either after 'floor:' "
                        "to serve a one-layer model of the same input and output size whose "
                        "forward pass costs next to nothing, i.e. the server's own cost per "
                        "request (default off,64:0,64:2,floor:64:0,floor:64:2)")
    parser.add_argument("--clients", type=int, default=64,
                        help="concurrent clients, one keep-alive connection each (default 64)")
    parser.add_argument("--requests", type=int, default=4000,
                        help="timed requests per configuration (default 4000)")
    parser.add_argument("--warmup", type=int, default=4,
                        help="untimed requests per client before timing (default 4)")
    parser.add_argument("--rows", type=int, default=1,
                        help="images per request (default 1)")
    parser.add_argument("--encoding", choices=["binary", "json"], default="binary",
                        help="request and answer tensors as binary data, as tritonclient sends "
                        "them, or as JSON lists (default binary)")
    parser.add_argument("--threads", type=int, default=64,
                        help="the server's --threads (default 64, as many as clients)")
    parser.add_argument("--server", choices=SERVERS, default="waitress",
                        help="the HTTP server: waitress (minigrad serve, default), or gunicorn's "
                        "gthread worker or granian's WSGI server serving the same app in one "
                        "process, for comparison (each must be installed)")
    parser.add_argument("--server-blas-threads", type=int, default=1,
                        help="BLAS/OpenMP threads of the server process (default 1: the "
                        "load generator needs the other core; 0 leaves the environment as is)")
    parser.add_argument("--server-cpus", type=cpu_list, metavar="LIST",
                        help="pin the server to these CPUs, e.g. 0 or 0,1 (default: not pinned)")
    parser.add_argument("--client-cpus", type=cpu_list, metavar="LIST",
                        help="pin the load generator to these CPUs (default: not pinned)")
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="hard limit in seconds on each configuration's run (default 60)")
    parser.add_argument("--max-rss-growth-mb", type=float, default=10.0,
                        help="largest growth of the server's VmRSS over the timed run "
                        "(default 10 MB)")
    parser.add_argument("--target-ratio", type=float, default=3.0,
                        help="throughput batching / off to reach (default 3)")
    parser.add_argument("--model", type=Path,
                        help="a saved model to serve instead of training the MNIST MLP "
                        "(fed random inputs of its input shape); an ONNX file (.onnx) is "
                        "served by onnxruntime beside the same model served by minigrad "
                        "(--native), configuration by configuration")
    parser.add_argument("--native", type=Path,
                        help="with --model model.onnx: the same model saved by minigrad "
                        "(default: model.safetensors beside the ONNX file)")
    parser.add_argument("--onnx-atol", type=float, default=1e-5,
                        help="how far the ONNX model's answers may be from the minigrad model's "
                        "(default 1e-5, for a float32 export; onnxruntime runs an int8 export "
                        "with integer kernels that also quantize the activations: about 1e-2)")
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA"),
                        help="folder holding mnist/ (default: $MINIGRAD_DATA)")
    parser.add_argument("--epochs", type=int, default=1,
                        help="training epochs of the MNIST MLP (default 1)")
    parser.add_argument("--samples", type=int, default=1000,
                        help="distinct test images the requests cycle through (default 1000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    args.configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    for config in args.configs:
        try:
            parse_config(config)
        except argparse.ArgumentTypeError as exc:
            parser.error(str(exc))
    for option in ("clients", "requests", "rows", "threads", "samples"):
        if getattr(args, option) < 1:
            parser.error(f"--{option} must be at least 1")
    if args.rows > args.samples:
        parser.error(f"--rows {args.rows} is more than --samples {args.samples}")
    if args.server != "waitress" and importlib.util.find_spec(args.server) is None:
        parser.error(f"--server {args.server}: {args.server} is not installed (pip install "
                     f"{args.server})")
    return args


def main(argv=None):
    args = parse_args(argv)
    import minigrad

    onnx_path = None
    if args.model is not None and args.model.suffix == ".onnx":
        onnx_path, args.model = args.model, native_of(args)
    with tempfile.TemporaryDirectory(prefix="serve_load_") as folder:
        model_path, images, description = prepare_model(args, folder)
        if args.client_cpus:
            os.sched_setaffinity(0, args.client_cpus)  # before the client threads start
        count = len(images) // args.rows
        starts = [i * args.rows for i in range(count)]

        def answers_of(path):  # what each request must get back from the model at path
            outputs = expected_outputs(path, images)
            return np.stack([outputs[s:s + args.rows] for s in starts])

        def requests_for(*names):  # the requests, with a graph's input and output names
            bodies = [encode_request(images[s:s + args.rows], args.encoding, *names)
                      for s in starts]
            path = f"/v2/models/{MODEL_NAME}/infer"
            return bodies, [http_request(path, body, headers) for body, headers in bodies]

        bodies, requests = requests_for()
        models = {"model": (model_path, requests, answers_of(model_path))}
        if onnx_path is not None:  # its answers must be the minigrad model's
            models["onnx"] = (onnx_path, requests_for(*onnx_names(onnx_path))[1],
                              models["model"][2])
        if any(config.startswith("floor:") for config in args.configs):
            floor_path = floor_model(model_path, folder, args.seed)
            models["floor"] = (floor_path, requests, answers_of(floor_path))
        if onnx_path is not None:
            description += f"; and its export {onnx_path}, served by onnxruntime"
        print(f"{description}; minigrad {minigrad.__version__}, {os.cpu_count()} CPU(s), "
              f"load average {os.getloadavg()[0]:.2f}")
        print(f"{args.clients} clients, {args.requests} requests of {args.rows} image(s) "
              f"({args.encoding}, {len(bodies[0][0])} bytes) per configuration; server "
              f"{args.server} --threads {args.threads}, BLAS threads "
              f"{args.server_blas_threads or 'default'}"
              + (f", server on CPU(s) {sorted(args.server_cpus)}" if args.server_cpus else "")
              + (f", clients on CPU(s) {sorted(args.client_cpus)}" if args.client_cpus else ""))
        results = []
        runs = []  # (label, model): each configuration, then its ONNX twin
        for config in args.configs:
            floor = config.startswith("floor:")
            runs.append((config, "floor" if floor else "model"))
            if onnx_path is not None and not floor:
                runs.append((f"onnx:{config}", "onnx"))
        for label, which in runs:
            served, model_requests, expected = models[which]
            figures = measure(label, served, model_requests, expected, args,
                              Path(folder) / f"server-{len(results)}.log")
            results.append(figures)
            print(f"  {label}: {figures.throughput:.0f} req/s, p50 {figures.p50_ms:.1f} ms, "
                  f"p99 {figures.p99_ms:.1f} ms", flush=True)
        problems = report(results, args)
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
