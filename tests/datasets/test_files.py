"""Downloads: off when asked (download=False, MINIGRAD_OFFLINE), and fast to give up when the
network is unreachable."""

import hashlib
import http.server
import socket
import threading
import time
import urllib.request

import pytest

from minigrad.datasets import cifar10, fashion_mnist, imdb, mnist
from minigrad.datasets.files import downloads_allowed, locate


@pytest.fixture
def no_network_calls(monkeypatch):
    """Any attempt to reach the network fails the test."""
    def forbidden(*args, **kwargs):
        raise AssertionError(f"a download was tried: {args}")

    monkeypatch.setattr(urllib.request, "urlopen", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)


@pytest.mark.parametrize("value, allowed", [("", True), ("0", True), ("false", True),
                                            ("off", True), ("1", False), ("yes", False),
                                            ("TRUE", False)])
def test_minigrad_offline_values(monkeypatch, value, allowed):
    monkeypatch.setenv("MINIGRAD_OFFLINE", value)
    assert downloads_allowed() is allowed
    assert downloads_allowed(download=False) is False


@pytest.mark.parametrize("load", [mnist.load_data, fashion_mnist.load_data, cifar10.load_data,
                                  imdb.load_data, imdb.get_word_index],
                         ids=["mnist", "fashion_mnist", "cifar10", "imdb", "imdb_word_index"])
def test_download_false_never_tries_and_says_where_files_go(tmp_path, no_network_calls, load):
    with pytest.raises(FileNotFoundError, match=r"downloads are off \(download=False\).*"
                                                r"Put the files .* into the folder"):
        load(root=tmp_path, download=False)


def test_minigrad_offline_never_tries(tmp_path, monkeypatch, no_network_calls):
    monkeypatch.setenv("MINIGRAD_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match="downloads are off .MINIGRAD_OFFLINE is set"):
        mnist.load_data(root=tmp_path)


def test_an_unreachable_network_is_tried_once_per_host(tmp_path, monkeypatch):
    attempts = []

    def unreachable(address, *args, **kwargs):
        attempts.append(address[0])
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    started = time.perf_counter()
    with pytest.raises(FileNotFoundError) as info:
        mnist.load_data(root=tmp_path)
    # 4 files x 3 mirrors = 12 URLs on 3 hosts: each host is tried once, then skipped.
    assert sorted(attempts) == sorted({url.split("/")[2] for url in mnist.MIRRORS})
    assert time.perf_counter() - started < 5
    message = str(info.value)
    assert "unreachable" in message and "skipped" in message
    assert all(name in message for name in mnist.FILES)


_REAL_URLOPEN = urllib.request.urlopen  # taken at import, before the offline fixture


def test_a_reachable_host_serves_the_file(tmp_path, monkeypatch):
    payload = b"minigrad test file"
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "data.bin").write_bytes(payload)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(tmp_path / "served"), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(urllib.request, "urlopen", _REAL_URLOPEN)  # loopback only
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.bin"
        (path,) = locate("demo", {"data.bin": ([url], hashlib.md5(payload).hexdigest(), None)},
                         root=tmp_path / "root", progress=False)
        assert path.read_bytes() == payload
    finally:
        server.shutdown()
        server.server_close()
