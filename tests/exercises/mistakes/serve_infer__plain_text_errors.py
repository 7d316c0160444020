"""Planted mistake in serve_infer: errors answered as plain text instead of a JSON {"error": ...}
object."""
# expect: the error should be JSON \(Content-Type application/json\)

import json
import re

import numpy as np

ROUTE = re.compile(r"^/v2/models/([^/]+)/infer$")


def make_app(model, name="model"):
    expected = [-1, *model.build_input_shape]

    def respond(start_response, status, body):
        payload = json.dumps(body).encode()
        reasons = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(f"{status} {reasons[status]}", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(payload)))])
        return [payload]

    def fail(start_response, status, message):
        reasons = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
        start_response(f"{status} {reasons[status]}", [("Content-Type", "text/plain")])
        return [message.encode()]

    def app(environ, start_response):
        match = ROUTE.match(environ.get("PATH_INFO", ""))
        if match is None or match.group(1) != name:
            return fail(start_response, 404, f"no route or model for {environ.get('PATH_INFO')}; "
                                             f"this server has model {name!r}")
        if environ["REQUEST_METHOD"] != "POST":
            return fail(start_response, 405, "use POST")
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length)
        try:
            request = json.loads(raw)
            inputs = request["inputs"]
            if not isinstance(inputs, list) or len(inputs) != 1:
                raise ValueError("'inputs' must be a list of one tensor")
            tensor = inputs[0]
            if tensor.get("datatype") != "FP32":
                raise ValueError(f"datatype must be FP32, got {tensor.get('datatype')!r}")
            shape = tensor["shape"]
            if not isinstance(shape, list) or not all(
                    isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
                raise ValueError(f"'shape' must be a list of sizes, got {shape!r}")
            data = np.asarray(tensor["data"], dtype=np.float32)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            return fail(start_response, 400, f"malformed request: {error}")
        if (len(shape) != len(expected) or shape[0] < 1
                or any(want not in (-1, got) for want, got in zip(expected, shape))):
            return fail(start_response, 400, f"expected shape {expected}, got {shape}")
        if data.size != int(np.prod(shape)):
            return fail(start_response, 400, f"shape {shape} needs {int(np.prod(shape))} values, "
                                             f"got {data.size}")
        output = np.asarray(model.predict(data.reshape(shape)), dtype=np.float32)
        return respond(start_response, 200, {
            "model_name": name,
            "outputs": [{"name": "output", "shape": list(output.shape), "datatype": "FP32",
                         "data": output.ravel().tolist()}]})

    return app
