"""Every dataset test gets its own empty cache, and downloads go nowhere unless a test says so."""

import socket
import urllib.request

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MINIGRAD_CACHE", str(tmp_path / "cache"))


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """No network: an attempt to fetch a real URL fails at once (file:// URLs still work)."""
    real = urllib.request.urlopen

    def urlopen(url, *args, **kwargs):
        target = url if isinstance(url, str) else url.full_url
        if not target.startswith("file:"):
            raise urllib.error.URLError(f"offline test: {target}")
        return real(url, *args, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    real_connect = socket.create_connection

    def create_connection(address, *args, **kwargs):
        if address[0] not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"offline test: {address[0]}")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.delenv("MINIGRAD_OFFLINE", raising=False)
