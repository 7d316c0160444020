"""The one exception the serving code raises for a request it cannot answer."""


class ServeError(Exception):
    """A request the server refuses: ``status`` is the HTTP status, the message is what the
    client is told (as ``{"error": message}``, the Open Inference Protocol's error body)."""

    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = int(status)
        self.message = message
        #: Extra response headers, e.g. ``WWW-Authenticate`` on a 401.
        self.headers = list(headers or [])


def bad_request(message):
    """A 400: the request is malformed or does not fit the model."""
    return ServeError(400, message)
