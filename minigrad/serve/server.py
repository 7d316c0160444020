"""Running an app on waitress, with a graceful shutdown.

On SIGTERM (or Ctrl-C) the server stops listening, reports itself not ready, lets every
request it has already received finish and reach its client (up to ``grace`` seconds), and
only then closes its connections and returns.
"""

import json
import logging
import signal
import threading
import time

log = logging.getLogger("minigrad.serve")


def _channel_class():
    """A waitress connection class whose own error answers (a body over the size limit, a
    malformed request line, headers too large: refused before the app sees the request) are
    ``{"error": ...}`` JSON like the app's, instead of waitress's plain text, and whose event
    loop does not spin while an answer is being finished."""
    from waitress.channel import HTTPChannel
    from waitress.task import ErrorTask

    class JSONErrorTask(ErrorTask):
        def execute(self):
            error = self.request.error
            body = json.dumps({"error": f"{error.reason}: {error.body}"}).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class Channel(HTTPChannel):
        error_task_class = JSONErrorTask

        def writable(self):
            # While a request's task is writing its answer it holds the output lock and sends
            # the bytes itself; should the socket take only part of them, it wakes the event
            # loop (pulls the trigger), as it does when it ends. Until then the loop cannot
            # send anything, yet waitress's writable() would make select() return at once,
            # round after round, taking the GIL from the very thread that is writing.
            # Measured: 88 empty turns of the loop per request with 8 threads, 64 clients
            # and batching.
            if self.requests and not (self.will_close or self.close_when_flushed):
                if not self.outbuf_lock.acquire(False):
                    return False
                self.outbuf_lock.release()
            return super().writable()

    return Channel


def _busy(server):
    """True while a connection has a request in progress or an answer not yet sent."""
    for channel in list(server._map.values()):
        if channel is server or not hasattr(channel, "requests"):
            continue  # the listening socket and waitress's wake-up trigger
        if channel.requests or channel.total_outbufs_len or getattr(channel, "request", None):
            return True
    return False


def serve(app, host="127.0.0.1", port=8000, threads=8, grace=30.0, ready=None, stop=None):
    """Serve ``app`` (a WSGI app, e.g. from :func:`~minigrad.serve.create_app`) on waitress
    until SIGTERM or SIGINT, then shut down gracefully.

    Args:
        host: the address to bind; the default answers only this machine. Use ``0.0.0.0``
            to accept connections from others (then set a token).
        port: the TCP port; 0 picks a free one.
        threads: waitress's worker threads, i.e. requests handled at once. Dynamic batching
            can only merge requests that are being handled at the same time.
        grace: seconds to let in-flight requests finish after a shutdown signal.
        ready: called with ``(host, port)`` once listening (tests use it to learn the port).
        stop: a :class:`threading.Event` that starts the shutdown when set (for serving from
            a thread other than the main one, where signal handlers cannot be installed).
    """
    from waitress.server import create_server

    max_body = getattr(app, "max_body_bytes", None)
    options = {"max_request_body_size": max_body} if max_body else {}
    server = create_server(app, host=host, port=port, threads=threads, ident="minigrad",
                           clear_untrusted_proxy_headers=True, **options)
    server.channel_class = _channel_class()
    stop = stop if stop is not None else threading.Event()

    def request_stop(signum=None, frame=None):
        stop.set()
        server.pull_trigger()  # wake the event loop now rather than at its next timeout

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, request_stop)
                    for sig in (signal.SIGTERM, signal.SIGINT)}
    bound_host, bound_port = server.effective_host, server.effective_port
    log.info("serving on http://%s:%s", bound_host, bound_port)
    if ready is not None:
        ready(bound_host, bound_port)
    loop = server.asyncore.loop
    try:
        while not stop.is_set():
            loop(timeout=0.2, map=server._map, count=1)
        # Any WSGI app may be served; only ours counts its requests in flight.
        log.info("shutting down: finishing %s request(s)", getattr(app, "in_flight", "the"))
        if hasattr(app, "accepting"):
            app.accepting = False
        server.accepting = False
        server.del_channel()  # stop listening: new connections are refused
        server.socket.close()
        deadline = time.monotonic() + grace
        while _busy(server) and time.monotonic() < deadline:
            loop(timeout=0.05, map=server._map, count=1)
    finally:
        server.task_dispatcher.shutdown(timeout=max(0.0, grace))
        server.asyncore.close_all(server._map)
        if hasattr(app, "close"):
            app.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    log.info("stopped")
