"""The app on real HTTP servers: waitress (minigrad serve), Triton's own client, concurrency,
graceful shutdown, gunicorn, and the waitress internals that minigrad.serve.server uses.
(Connection limits and timeouts: test_connections.py; shutdown under load: test_shutdown.py.)"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from .conftest import (free_port, get, infer_body, post, requires_serve_extra, start_cli,
                       wait_until_live)

requires_serve_extra()

X = np.random.default_rng(2).random((6, 4), dtype=np.float32)


def prediction(body):
    (output,) = json.loads(body)["outputs"]
    return np.array(output["data"], dtype=np.float32).reshape(output["shape"])


@pytest.mark.parametrize("binary", [True, False])
def test_tritons_own_client_works_unchanged(app_for, live_server, mlp, binary):
    httpclient = pytest.importorskip("tritonclient.http",
                                     reason="tritonclient[http] is not installed")
    address = live_server(app_for(mlp))
    client = httpclient.InferenceServerClient(address)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("tiny")
    metadata = client.get_model_metadata("tiny")
    assert metadata["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 4]}]
    tensor = httpclient.InferInput("input", list(X.shape), "FP32")
    tensor.set_data_from_numpy(X, binary_data=binary)
    outputs = [httpclient.InferRequestedOutput("output", binary_data=binary)]
    result = client.infer("tiny", [tensor], outputs=outputs, request_id="42")
    np.testing.assert_array_equal(result.as_numpy("output"), mlp.predict(X))
    assert result.get_response()["id"] == "42"
    # no outputs named: the client asks for all of them in binary
    result = client.infer("tiny", [tensor])
    np.testing.assert_array_equal(result.as_numpy("output"), mlp.predict(X))
    with pytest.raises(httpclient.InferenceServerException, match="unknown model 'nope'"):
        client.infer("nope", [tensor])
    client.close()


@pytest.mark.parametrize("max_batch_size", [0, 16])
def test_concurrent_clients_each_get_their_own_answer(app_for, live_server, mlp,
                                                      max_batch_size):
    app = app_for(mlp, max_batch_size=max_batch_size, batch_timeout_ms=2)
    address = live_server(app, threads=32)
    rng = np.random.default_rng(3)
    inputs = [rng.random((1 + i % 3, 4), dtype=np.float32) for i in range(32)]
    expected = [mlp.predict(x) for x in inputs]
    failures = []

    def client(i):
        # A row's result may differ in the last bits with the batch it is computed in (BLAS
        # blocks the product by the batch's shape); anything beyond that is another's answer.
        for _ in range(5):
            status, body = post(address, "/v2/models/tiny/infer", infer_body(inputs[i]))
            if status != 200 or not np.allclose(prediction(body), expected[i], rtol=0,
                                                atol=1e-6):
                failures.append((i, status, body[:200]))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures[:3]
    status, text = get(address, "/metrics")
    batches = [line for line in text.decode().splitlines()
               if line.startswith("minigrad_batch_size_count")]
    if max_batch_size:
        count = float(batches[0].rsplit(" ", 1)[1])
        assert count < 32 * 5, "no two requests shared a forward pass"
    else:
        assert not batches


def test_a_body_over_the_limit_is_413_over_http(app_for, live_server, mlp):
    address = live_server(app_for(mlp, max_body_bytes=1000))
    status, body = post(address, "/v2/models/tiny/infer",
                        infer_body(np.zeros((50, 4), np.float32)))
    assert status == 413  # refused by waitress before the app: still a JSON error
    assert "exceeds max_body of 1000" in json.loads(body)["error"]
    status, body = post(address, "/v2/models/tiny/infer", infer_body(X))
    assert status == 200


def test_sigterm_lets_the_request_in_flight_finish(saved_model, mlp):
    port = free_port()
    # A long batch timeout keeps a lone request in flight for 1.5 s.
    process = start_cli(saved_model, "--port", port, "--batch-timeout-ms", 1500)
    address = f"127.0.0.1:{port}"
    try:
        wait_until_live(address, process)
        answers = []
        request = threading.Thread(target=lambda: answers.append(
            post(address, "/v2/models/tiny/infer", infer_body(X))))
        request.start()
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        request.join(20)
        assert process.wait(20) == 0
        status, body = answers[0]
        assert status == 200
        np.testing.assert_array_equal(prediction(body), mlp.predict(X))
        with pytest.raises(OSError):  # no longer listening
            get(address, "/v2/health/live", timeout=2)
        log = process.stderr.read().decode()
        assert "shutting down: finishing 1 request(s)" in log and "stopped" in log
    finally:
        process.kill()
        process.wait()


def test_the_cli_binds_this_machine_only_and_logs_each_request(saved_model):
    port = free_port()
    process = start_cli(saved_model, "--port", port, "--name", "digits")
    try:
        wait_until_live(f"127.0.0.1:{port}", process)
        status, body = get(f"127.0.0.1:{port}", "/v2/models/digits")
        assert status == 200 and json.loads(body)["name"] == "digits"
        listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout \
            if shutil.which("ss") else f"127.0.0.1:{port}"
        assert f"127.0.0.1:{port}" in listening and f"0.0.0.0:{port}" not in listening
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)
    log = process.stderr.read().decode()
    access = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(entry["path"] == "/v2/models/digits" and entry["status"] == 200
               for entry in access), log


@pytest.mark.parametrize("args, message", [
    (["missing.safetensors"], "no such model file or folder"),
    (["{model}", "--token-file", "missing-token"], "--token-file missing-token: cannot read"),
    (["{model}", "--max-batch-size", "-1"], "--max-batch-size must be positive"),
])
def test_the_cli_explains_bad_arguments(saved_model, args, message):
    args = [a.format(model=saved_model) for a in args]
    result = subprocess.run([sys.executable, "-m", "minigrad", "serve", *args],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and message in result.stderr, result.stderr


def test_the_cli_reads_the_token_from_a_file(saved_model, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("  abc-123\n")
    port = free_port()
    process = start_cli(saved_model, "--port", port, "--token-file", token_file, "--quiet")
    address = f"127.0.0.1:{port}"
    try:
        wait_until_live(address, process)
        assert get(address, "/v2")[0] == 401
        connection = http.client.HTTPConnection(address, timeout=10)
        connection.request("GET", "/v2", headers={"Authorization": "Bearer abc-123"})
        assert connection.getresponse().status == 200
        connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(20)


def test_gunicorn_with_several_workers_serves_the_app(saved_model, mlp, tmp_path):
    pytest.importorskip("gunicorn", reason="gunicorn is not installed")
    port = free_port()
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir))
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-k", "gthread", "--threads", "4",
         "-b", f"127.0.0.1:{port}", f"minigrad.serve:create_app({str(saved_model)!r})"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    address = f"127.0.0.1:{port}"
    try:
        wait_until_live(address, process)
        for _ in range(8):  # spread over both workers
            status, body = post(address, "/v2/models/tiny/infer", infer_body(X))
            assert status == 200
            np.testing.assert_array_equal(prediction(body), mlp.predict(X))
        status, text = get(address, "/metrics")
        count = [line for line in text.decode().splitlines() if line.startswith(
            'minigrad_requests_total{endpoint="infer",model="tiny",status="200"}')]
        assert count and float(count[0].rsplit(" ", 1)[1]) == 8, text.decode()[:2000]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_malformed_http_gets_a_json_error_too(app_for, live_server, mlp):
    address = live_server(app_for(mlp))
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(b"POST /v2/models/tiny/infer HTTP/1.1\r\nContent-Length: x\r\n\r\n")
        chunks = []
        while chunk := connection.recv(65536):  # the server closes after an error
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400") and "application/json" in head
    assert "error" in json.loads(body)
    status, body = post(address, "/v2/models/tiny/infer", infer_body(X))
    assert status == 200


class _StubServer:
    """What a waitress channel needs of its server in a unit test."""

    def __init__(self):
        self.triggers = 0
        self.active_channels = {}

    def add_task(self, channel):
        pass

    def pull_trigger(self):
        self.triggers += 1


@pytest.fixture
def channel():
    """A connection of minigrad's channel class on one end of a socket pair."""
    from waitress.adjustments import Adjustments

    from minigrad.serve.server import _waitress_server_class

    ours, theirs = socket.socketpair()
    channel_class = _waitress_server_class().channel_class
    made = channel_class(_StubServer(), ours, ("127.0.0.1", 1), Adjustments(), map={})
    yield made
    made.close()
    theirs.close()


def test_the_event_loop_does_not_watch_a_connection_whose_task_is_writing(channel):
    """While the task holds the output lock, the loop could not send: select() must not wake
    for it (waitress's own writable() made the loop spin, 88 turns per request)."""
    def writable_while_a_task_writes():
        # The task's thread holds the output lock (it is reentrant: another thread's).
        holding, done = threading.Event(), threading.Event()

        def task():
            with channel.outbuf_lock:
                holding.set()
                done.wait(10)

        thread = threading.Thread(target=task)
        thread.start()
        holding.wait(10)
        try:
            return bool(channel.writable())
        finally:
            done.set()
            thread.join(10)

    channel.requests = [object()]  # a request being answered by a task
    channel.total_outbufs_len = 10  # with output buffered
    assert not writable_while_a_task_writes()
    assert channel.writable()  # lock free: the loop may flush what is left
    channel.total_outbufs_len = 0
    assert not channel.writable()  # nothing to send
    channel.will_close = True
    assert writable_while_a_task_writes()  # closing must still reach handle_write
    channel.will_close = False
    channel.requests = []
    channel.total_outbufs_len = 10
    assert writable_while_a_task_writes()  # no task: leftover output is the loop's to send


def test_a_large_answer_read_slowly_arrives_whole(live_server):
    """An answer bigger than the socket buffers and than waitress's high watermark, read
    slowly: the task and the event loop take turns sending it; nothing hangs or is lost."""
    chunk = bytes(range(256)) * 4096  # 1 MiB
    count = 24

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(len(chunk) * count))])
        return (chunk for _ in range(count))

    host, port = live_server(app, threads=2).split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
        received = bytearray()
        while len(received) < len(chunk) * count + 64:
            part = connection.recv(256 * 1024)
            if not part:
                break
            received += part
            time.sleep(0.001)  # a slow reader: the server's buffers fill up
            if b"\r\n\r\n" in received:
                head, _, body = bytes(received).partition(b"\r\n\r\n")
                if len(body) >= len(chunk) * count:
                    break
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert body == chunk * count


def test_waitress_is_held_to_the_releases_the_server_was_tested_with():
    """minigrad.serve.server builds on waitress's internals: pyproject.toml pins the tested
    range, and the installed release must lie in it (else the spin, the timeouts or the
    shutdown could silently break)."""
    import re
    from importlib.metadata import version
    from pathlib import Path

    from minigrad.serve.server import TESTED_WAITRESS, waitress_is_tested

    # (tomllib is not in Python 3.10: the requirement strings are found as text)
    project = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    pins = re.findall(r'"(waitress\b[^"]*)"', project)
    assert pins == ["waitress" + TESTED_WAITRESS] * 2  # the serve extra and the dev list
    assert waitress_is_tested(version("waitress")), version("waitress")
    assert waitress_is_tested("3.0.1") and waitress_is_tested("3.0.9")
    assert not waitress_is_tested("3.0.0") and not waitress_is_tested("3.1.0")
    assert not waitress_is_tested("4.0")


def test_the_waitress_internals_the_server_uses_are_there(channel):
    """A tripwire: every private name of waitress that minigrad.serve.server relies on."""
    from waitress import wasyncore
    from waitress.adjustments import Adjustments
    from waitress.parser import HTTPRequestParser
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask, Task, WSGITask

    for name in ("requests", "request", "will_close", "close_when_flushed",
                 "total_outbufs_len", "outbuf_lock", "last_activity", "server"):
        assert hasattr(channel, name), name
    for name in ("parser_class", "task_class", "error_task_class", "received", "writable"):
        assert hasattr(type(channel).__mro__[1], name), name
    for name in ("execute", "build_response_header", "set_close_on_finish", "write",
                 "complete", "request", "channel", "status", "response_headers",
                 "content_length"):
        assert hasattr(WSGITask, name) or name in Task.__init__.__code__.co_names, name
    assert ErrorTask.complete is True
    for name in ("maintenance", "readable", "handle_accept", "next_channel_cleanup",
                 "channel_class", "del_channel", "pull_trigger", "accepting"):
        assert hasattr(TcpWSGIServer, name), name
    assert "use_poll" in wasyncore.loop.__code__.co_varnames
    assert HTTPRequestParser.__init__.__code__.co_argcount == 2  # (self, adj)
    adjustments = Adjustments()
    for name in ("cleanup_interval", "backlog", "max_request_body_size",
                 "channel_request_lookahead"):
        assert hasattr(adjustments, name), name
    # Reading no further request on a connection while one is being answered (waitress's
    # default) is what lets an answer with Connection: close be the connection's last.
    assert adjustments.channel_request_lookahead == 0


def test_the_server_keeps_track_of_its_connections(live_server, app_for, mlp, monkeypatch):
    """active_channels, which the limit, the timeouts and the shutdown count on, holds the open
    connections and forgets closed ones."""
    from minigrad.serve import server as server_module

    made = []
    original = server_module._waitress_server_class

    def recording():
        class Recording(original()):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, **kwargs)
                made.append(self)

        return Recording

    monkeypatch.setattr(server_module, "_waitress_server_class", recording)
    host, port = live_server(app_for(mlp)).split(":")
    (server,) = made
    socks = [socket.create_connection((host, int(port)), timeout=10) for _ in range(3)]
    deadline = time.monotonic() + 5
    while len(server.active_channels) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(server.active_channels) == 3
    for sock in socks:
        sock.close()
    while server.active_channels and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not server.active_channels
