"""`minigrad serve` under hostile or careless clients: hundreds of idle and slow connections
must not lock new clients out, and idle or trickling connections are closed in bounded time.

Each test prints what it measured (run with ``-s`` to see it)."""

import json
import socket
import statistics
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from .conftest import free_port, infer_body, post, requires_serve_extra, start_cli, \
    wait_until_live

requires_serve_extra()

X = np.random.default_rng(4).random((2, 4), dtype=np.float32)
INFER = "/v2/models/tiny/infer"
# A request whose body will never arrive whole: the slow senders trickle it a byte at a time.
SLOW_HEAD = (b"POST /v2/models/tiny/infer HTTP/1.1\r\nHost: x\r\n"
             b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")


def is_open(sock):
    """Whether the server still holds this connection (it has not closed or reset it)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True  # nothing to read, not closed
    except OSError:
        return False
    finally:
        sock.setblocking(True)


def idle_connections(host, port, count, answered):
    """``count`` connections that send nothing more; the first ``answered`` of them have had
    one request answered first (kept-alive connections of a client that went quiet)."""
    held = []
    for i in range(count):
        sock = socket.create_connection((host, port), timeout=10)
        if i < answered:
            sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        held.append(sock)
    return held


class Trickler:
    """``count`` connections that each began a request and send one more byte of its body
    every ``interval`` seconds: slow senders that are never idle."""

    def __init__(self, host, port, count, interval):
        self.socks = []
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=10)
            sock.sendall(SLOW_HEAD)
            self.socks.append(sock)
        self.interval = interval
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        alive = list(self.socks)
        while alive and not self.stop.wait(self.interval):
            for sock in list(alive):
                try:
                    sock.send(b"1")
                except OSError:  # closed by the server
                    alive.remove(sock)

    def close(self):
        self.stop.set()
        self.thread.join(10)
        for sock in self.socks:
            sock.close()


def new_client_latencies(address, count, mlp):
    """Seconds each of ``count`` new clients (one new connection each) took to get a correct
    inference answer."""
    latencies = []
    for _ in range(count):
        began = time.perf_counter()
        status, body = post(address, INFER, infer_body(X), timeout=30)
        latencies.append(time.perf_counter() - began)
        assert status == 200, body
        (output,) = json.loads(body)["outputs"]
        np.testing.assert_allclose(np.array(output["data"]).reshape(output["shape"]),
                                   mlp.predict(X), rtol=0, atol=1e-6)
    return latencies


@pytest.fixture
def serve_cli(saved_model):
    """``serve_cli(*options)`` -> (host, port, process): ``minigrad serve`` on a free port."""
    processes = []

    def start(*options):
        port = free_port()
        process = start_cli(saved_model, "--port", port, "--quiet", *options)
        processes.append(process)
        wait_until_live(f"127.0.0.1:{port}", process)
        return "127.0.0.1", port, process

    yield start
    for process in processes:
        process.kill()
        process.wait(10)


IDLE, ANSWERED, SLOW, NEW_CLIENTS = 300, 150, 200, 20


@pytest.mark.parametrize("limit", [1000, 100])
def test_new_clients_are_answered_while_hundreds_of_idle_and_slow_connections_are_open(
        serve_cli, mlp, limit):
    """300 idle connections (150 of them after one answered request) and 200 slow senders
    trickling a request body: under the limit all of them stay open and new clients are
    answered at once; over it, new clients take the place of the longest-idle ones."""
    # Long timeouts: only the connection limit and its room-making are at work here.
    host, port, _ = serve_cli("--connection-limit", limit, "--idle-timeout", 120,
                              "--read-timeout", 120)
    idle = idle_connections(host, port, IDLE, ANSWERED)
    slow = Trickler(host, port, SLOW, interval=0.25)
    try:
        if limit < IDLE + SLOW:
            # Over the limit, connections are taken in and closed to make room for the next
            # until those left fit (the others wait in the listen queue meanwhile, open).
            deadline = time.monotonic() + 10
            while sum(map(is_open, idle + slow.socks)) > limit and time.monotonic() < deadline:
                time.sleep(0.1)
        latencies = new_client_latencies(f"{host}:{port}", NEW_CLIENTS, mlp)
        held = sum(map(is_open, idle + slow.socks))
    finally:
        slow.close()
        for sock in idle:
            sock.close()
    print(f"\n--connection-limit {limit}: {IDLE} idle + {SLOW} slow connections, {held} still "
          f"open after {NEW_CLIENTS} new clients; their latency median "
          f"{statistics.median(latencies) * 1e3:.1f} ms, max {max(latencies) * 1e3:.1f} ms")
    assert max(latencies) < 2.0, latencies
    if limit > IDLE + SLOW:
        assert held == IDLE + SLOW  # nobody was cut to make room
    else:
        assert held <= limit


def test_idle_and_slow_connections_are_closed_after_their_timeouts(serve_cli, mlp):
    """Idle connections close after --idle-timeout, requests still arriving (a trickle, or a
    Content-Length that promises more than is sent) after --read-timeout; a request that is
    being answered for longer than both is not cut."""
    # A batch timeout of 3.5 s keeps the one inference request in flight past both timeouts.
    host, port, _ = serve_cli("--idle-timeout", 1, "--read-timeout", 2,
                              "--batch-timeout-ms", 3500)
    began = time.monotonic()
    idle = idle_connections(host, port, 50, answered=25)
    slow = Trickler(host, port, 50, interval=0.2)
    liars = []
    for _ in range(5):
        sock = socket.create_connection((host, port), timeout=10)
        sock.sendall(SLOW_HEAD.replace(b"100000", b"1000") + b"0" * 10)
        liars.append(sock)
    answers = []
    long_request = threading.Thread(target=lambda: answers.append(
        post(f"{host}:{port}", INFER, infer_body(X), timeout=30)))
    long_request.start()
    try:
        closed_after = {}
        deadline = began + 10
        groups = {"idle": idle, "slow": slow.socks, "Content-Length lies": liars}
        while len(closed_after) < len(groups) and time.monotonic() < deadline:
            for name, socks in groups.items():
                if name not in closed_after and not any(map(is_open, socks)):
                    closed_after[name] = time.monotonic() - began
            time.sleep(0.1)
        long_request.join(30)
    finally:
        slow.close()
        for sock in idle + liars:
            sock.close()
    print("\nclosed (seconds after they opened): "
          + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in closed_after.items()))
    assert closed_after.keys() == groups.keys(), closed_after
    assert 1 <= closed_after["idle"] < 4
    assert 2 <= closed_after["slow"] < 5 and 2 <= closed_after["Content-Length lies"] < 5
    (status, body), = answers
    assert status == 200, body


@pytest.mark.parametrize("option", ["--connection-limit", "--idle-timeout", "--read-timeout"])
def test_limits_must_be_positive(saved_model, option):
    result = subprocess.run([sys.executable, "-m", "minigrad", "serve", str(saved_model),
                             option, "0"], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and f"{option} must be positive" in result.stderr
