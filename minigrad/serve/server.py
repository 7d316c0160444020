"""Running an app on waitress: a bounded number of connections, idle and read timeouts, and a
graceful shutdown.

Hostile or careless clients cannot lock others out: an idle keep-alive connection is closed
after ``idle_timeout`` seconds, a request still arriving ``read_timeout`` seconds after its
first byte (a slow sender trickling bytes) is cut, and at ``connection_limit`` open
connections a new client takes the place of the longest-idle one (or, when none is idle, of
the slowest request still arriving) instead of waiting in the listen queue.

On SIGTERM (or Ctrl-C) the server stops listening (new connections are refused), reports
itself not ready, answers every request it had begun to receive with ``Connection: close``,
and closes its keep-alive connections as soon as they are idle: at once when they have been
quiet for a second, else after that second, during which a request sent on them is refused
with a 503 (and ``Connection: close``) rather than met with a closed socket: a client that
sent it just before learning of the shutdown is told plainly that it was not processed.
:func:`~minigrad.serve.serve` returns the number of requests it had to cut when ``grace`` seconds
ran out (0: none), and ``minigrad serve`` exits non-zero if there were any.

waitress offers none of this through its public options (its connection limit only stops
accepting, and a trickling sender never times out), so the classes below build on its
channel, task and server classes: the range of waitress releases they were tested with is
pinned in pyproject.toml (:data:`TESTED_WAITRESS`), and ``tests/serve/test_server.py``
checks that the internals they use are still there.
"""

import itertools
import json
import logging
import math
import select
import signal
import threading
import time
import uuid

log = logging.getLogger("minigrad.serve")

#: The waitress releases the classes below were tested with (pinned in pyproject.toml).
TESTED_WAITRESS = ">=3.0.1,<3.1"
#: Connections open at once (``--connection-limit``).
DEFAULT_CONNECTION_LIMIT = 1000
#: Seconds an idle keep-alive connection stays open (``--idle-timeout``).
DEFAULT_IDLE_TIMEOUT = 30.0
#: Seconds a request may take to arrive once its first byte has (``--read-timeout``).
DEFAULT_READ_TIMEOUT = 30.0
#: Seconds a keep-alive connection active just before SIGTERM stays open for a request the
#: client may already have sent (answered 503), before it is closed as idle.
SHUTDOWN_LINGER = 1.0
# File descriptors besides the connections: model files, the listening socket, the event
# loop's wake-up pipe, logs.
_SPARE_FILES = 64


def _release(text):
    """``"3.0.2"`` -> ``(3, 0, 2)`` (the numeric part of a version)."""
    parts = []
    for part in text.split("."):
        digits = "".join(itertools.takewhile(str.isdigit, part))
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def waitress_is_tested(version):
    """Whether waitress ``version`` lies in :data:`TESTED_WAITRESS`."""
    low, high = (_release(bound.lstrip("<>=")) for bound in TESTED_WAITRESS.split(","))
    return low <= _release(version) < high


def _waitress_server_class():
    """The server class: waitress's TCP server with the connection rules above, JSON error
    answers, and an event loop that does not spin while an answer is being finished."""
    from importlib.metadata import version

    if not waitress_is_tested(version("waitress")):
        log.warning("waitress %s is not a release minigrad serve was tested with (waitress%s):"
                    " its connection limits and shutdown may not work", version("waitress"),
                    TESTED_WAITRESS)
    from waitress.channel import HTTPChannel
    from waitress.parser import HTTPRequestParser
    from waitress.server import TcpWSGIServer
    from waitress.task import ErrorTask, WSGITask

    class Request(HTTPRequestParser):
        def __init__(self, adj):
            super().__init__(adj)
            self.began = time.time()  # made when the request's first byte arrives

    class JSONErrorTask(ErrorTask):
        # waitress's own refusals (a body over the size limit, a malformed request line,
        # headers too large: refused before the app sees the request) as {"error": ...}
        # JSON like the app's, instead of waitress's plain text.
        def execute(self):
            error = self.request.error
            body = json.dumps({"error": f"{error.reason}: {error.body}"}).encode()
            self.status = f"{error.code} {error.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class ClosingTask(WSGITask):
        def execute(self):
            server = self.channel.server
            if server.stopping and self.request.began >= server.stopped_at:
                # Sent after SIGTERM on a connection still open: refused, not processed.
                body = json.dumps({"error": "the server is shutting down: the request was not "
                                            "processed; send it again"}).encode()
                self.status = "503 Service Unavailable"
                request_id = self.request.headers.get("X_REQUEST_ID", "")[:64]
                self.response_headers += [("Content-Type", "application/json"),
                                          ("X-Request-ID", request_id or uuid.uuid4().hex)]
                self.content_length = len(body)
                self.complete = True  # the answer is whole: no start_response to wait for
                self.write(body)
                return
            super().execute()

        def build_response_header(self):
            # Shutting down: the answer tells the client this connection ends with it.
            if self.channel.server.stopping:
                self.set_close_on_finish()
            return super().build_response_header()

    class Channel(HTTPChannel):
        parser_class = Request
        error_task_class = JSONErrorTask
        task_class = ClosingTask

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

        def unfinished(self):
            """Requests received (wholly or in part) and not yet answered to the end."""
            return (len(self.requests) + (self.request is not None)
                    or int(bool(self.total_outbufs_len)))

        def close_soon(self):
            self.will_close = True  # the event loop closes it at its next turn

    class Server(TcpWSGIServer):
        channel_class = Channel
        stopping = False  # set when the shutdown begins
        stopped_at = math.inf  # time.time() then

        def __init__(self, app, connection_limit, idle_timeout, read_timeout, **options):
            # waitress's own sweep (every cleanup_interval) runs ours; its channel_timeout
            # and connection_limit are not used.
            super().__init__(app, cleanup_interval=1, **options)
            self.connection_limit = connection_limit
            self.idle_timeout = idle_timeout
            self.read_timeout = read_timeout
            self.limit_logged = -math.inf
            self.evicted = self.idle_closed = self.slow_closed = 0

        def maintenance(self, now):
            """Close connections idle for ``idle_timeout`` and requests still arriving
            ``read_timeout`` after their first byte; never one whose request is being
            answered."""
            for channel in list(self.active_channels.values()):
                if channel.requests or channel.will_close:
                    continue
                if channel.request is not None:
                    if now - channel.request.began > self.read_timeout:
                        self.slow_closed += 1
                        channel.close_soon()
                elif now - channel.last_activity > self.idle_timeout:
                    self.idle_closed += 1
                    channel.close_soon()

        def readable(self):
            now = time.time()
            if now >= self.next_channel_cleanup:
                self.next_channel_cleanup = now + self.adj.cleanup_interval
                self.maintenance(now)
            if not self.accepting:
                return False
            if len(self.active_channels) < self.connection_limit:
                return True
            if now - self.limit_logged > 60:  # once a minute at most: not a flood
                self.limit_logged = now
                log.warning("%d connections open (--connection-limit): new clients take the "
                            "place of idle ones", len(self.active_channels))
            if self._someone_waits():
                self._make_room()
            return False  # accept once the connection closed has left the map

        def _someone_waits(self):
            poller = select.poll()
            poller.register(self.socket.fileno(), select.POLLIN)
            return bool(poller.poll(0))

        def _make_room(self):
            """Close the longest-idle connection, else the slowest request still arriving;
            none while every connection has a request being answered."""
            idle, arriving = [], []
            for channel in self.active_channels.values():
                if channel.requests or channel.will_close or channel.close_when_flushed:
                    continue
                if channel.total_outbufs_len:
                    continue
                if channel.request is None:
                    idle.append((channel.last_activity, id(channel), channel))
                else:
                    arriving.append((channel.request.began, id(channel), channel))
            victims = idle or arriving
            if victims:
                self.evicted += 1
                min(victims)[2].close_soon()

        def stop(self):
            """Answer 503 to requests begun from now on, with Connection: close."""
            if not self.stopping:
                self.stopped_at = time.time()
                self.stopping = True

        def stop_accepting(self):
            """Refuse new connections: close the listening socket, after taking those already
            waiting in its queue (closing would reset them; taken, their requests get a
            503)."""
            self.stop()
            for _ in range(self.adj.backlog):
                if not self._someone_waits():
                    break
                self.handle_accept()
            self.accepting = False
            self.del_channel()
            self.socket.close()

        def close_idle(self, now, linger):
            """Close every connection with nothing received, nothing left to send and no
            activity for ``linger`` seconds."""
            for channel in list(self.active_channels.values()):
                if (not channel.unfinished() and not channel.will_close
                        and now - channel.last_activity >= linger):
                    channel.close_soon()

        def unfinished(self):
            return sum(channel.unfinished() for channel in list(self.active_channels.values()))

    return Server


def _file_limit(connection_limit):
    """``connection_limit``, lowered (with a warning) to what the process's limit on open
    files allows after raising that limit as far as the system lets it."""
    try:
        import resource
    except ImportError:  # not POSIX: no such limit to raise
        return connection_limit
    want = connection_limit + _SPARE_FILES
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < want:
        raised = want if hard == resource.RLIM_INFINITY else min(want, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):
            pass
        if soft < want:
            lowered = max(1, soft - _SPARE_FILES)
            log.warning("--connection-limit %d is above what the limit of %d open files "
                        "allows (ulimit -n): %d connections at most", connection_limit,
                        soft, lowered)
            return lowered
    return connection_limit


def serve(app, host="127.0.0.1", port=8000, threads=8, grace=30.0, ready=None, stop=None,
          connection_limit=DEFAULT_CONNECTION_LIMIT, idle_timeout=DEFAULT_IDLE_TIMEOUT,
          read_timeout=DEFAULT_READ_TIMEOUT):
    """Serve ``app`` (a WSGI app, e.g. from :func:`~minigrad.serve.create_app`) on waitress
    until SIGTERM or SIGINT, then shut down gracefully.

    Args:
        host: the address to bind; the default answers only this machine. Use ``0.0.0.0``
            to accept connections from others (then set a token).
        port: the TCP port; 0 picks a free one.
        threads: waitress's worker threads, i.e. requests handled at once. Dynamic batching
            can only merge requests that are being handled at the same time.
        grace: seconds to let the requests already received finish after a shutdown signal.
        ready: called with ``(host, port)`` once listening (tests use it to learn the port).
        stop: a :class:`threading.Event` that starts the shutdown when set (for serving from
            a thread other than the main one, where signal handlers cannot be installed).
        connection_limit: connections open at once; at the limit a new client takes the place
            of the longest-idle connection (or the slowest request still arriving).
        idle_timeout: seconds before an idle keep-alive connection is closed.
        read_timeout: seconds a request may take to arrive once its first byte has; a slower
            sender's connection is closed.

    Returns:
        The number of requests cut at the end of ``grace`` (0 when every request received
        was answered).
    """
    for name, value in [("threads", threads), ("connection_limit", connection_limit),
                        ("idle_timeout", idle_timeout), ("read_timeout", read_timeout)]:
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    max_body = getattr(app, "max_body_bytes", None)
    options = {"max_request_body_size": max_body} if max_body else {}
    server = _waitress_server_class()(
        app, _file_limit(int(connection_limit)), float(idle_timeout), float(read_timeout),
        host=host, port=port, threads=threads, ident="minigrad",
        clear_untrusted_proxy_headers=True, **options)
    stop = stop if stop is not None else threading.Event()

    def request_stop(signum=None, frame=None):
        server.stop()  # at once: answers being made from now on say Connection: close
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
    cut, deadline = 0, None
    try:
        while not stop.is_set():
            # poll(), not select(): connections may have descriptors above 1024.
            loop(timeout=0.2, map=server._map, count=1, use_poll=True)
        deadline = time.monotonic() + grace
        # Any WSGI app may be served; only ours counts its requests in flight.
        log.info("shutting down: finishing %s request(s)", getattr(app, "in_flight", "the"))
        if hasattr(app, "accepting"):
            app.accepting = False
        server.stop_accepting()
        linger = min(SHUTDOWN_LINGER, grace)
        while time.monotonic() < deadline:
            server.close_idle(time.time(), linger)
            if not server.active_channels:
                break
            server.maintenance(time.time())  # slow senders still time out
            loop(timeout=0.05, map=server._map, count=1, use_poll=True)
        cut = server.unfinished()
    finally:
        # The worker threads finish the task they run (within what is left of the grace).
        left = 0.0 if deadline is None else max(0.0, deadline - time.monotonic())
        server.task_dispatcher.shutdown(timeout=left)
        server.asyncore.close_all(server._map)
        if hasattr(app, "close"):
            app.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if cut:
        log.error("stopped: %d request(s) cut at the end of the %g s grace period", cut,
                  grace)
    else:
        log.info("stopped")
    return cut
