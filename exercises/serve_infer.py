"""Exercise 12: serve it -- the Open Inference Protocol's ``infer`` route, in plain WSGI.

A trained model is only useful once something can ask it for predictions. The Open Inference
Protocol (KServe v2, spoken by NVIDIA Triton and by ``minigrad serve``) is a small HTTP/JSON
API for that. Write the heart of a server for it: a WSGI application, with the standard
library only (``json``, ``re``; no web framework), that answers one route::

    POST /v2/models/{name}/infer

for one minigrad model (saved with ``model.save`` and loaded back with ``mg.load_model``).

The request body is JSON; its one input tensor holds the rows, flat in row-major order::

    {"inputs": [{"name": "input", "shape": [2, 4], "datatype": "FP32",
                 "data": [0.1, 0.2, 0.3, 0.4, 1.0, 2.0, 3.0, 4.0]}]}

(it may also hold ``"outputs"`` or ``"parameters"``: you may ignore them). Reshape ``data`` to
``shape`` as float32, run ``model.predict`` on it, and answer ``200`` with::

    {"model_name": "tiny",
     "outputs": [{"name": "output", "shape": [2, 3], "datatype": "FP32",
                  "data": [... the 6 predictions, flat, row-major ...]}]}

Errors are JSON too, ``{"error": "<a message for the client>"}``, with the status:

- ``404`` for any other path, or a model name other than ``name``;
- ``400`` for a body that is not JSON, has no list ``"inputs"``, an input without ``"shape"``
  or ``"data"``, a datatype other than ``"FP32"``; and for a wrong shape: the model takes
  ``[-1, *model.build_input_shape]`` (``-1``: any batch size, at least 1), so a model built
  for rows of 4 features refuses ``[2, 5]`` and ``[8]``; and ``data`` must hold exactly
  ``prod(shape)`` numbers. Never let an exception escape: ``wsgiref`` turns it into a ``500``.

WSGI in four lines: the server calls ``app(environ, start_response)``; ``environ["PATH_INFO"]``
is the path, ``environ["REQUEST_METHOD"]`` the method, ``environ["wsgi.input"]`` the body
stream -- read exactly ``int(environ.get("CONTENT_LENGTH") or 0)`` bytes of it (a bare
``read()`` waits for more bytes forever); call ``start_response("200 OK", [("Content-Type",
"application/json")])`` once, and return a list of ``bytes``. Hints: ``json.dumps(...).encode()``;
a NumPy array's ``.tolist()`` gives JSON-ready floats (a float32 turned into a Python float and
back is exact); ``np.asarray(data, dtype=np.float32).reshape(shape)``.

Grade it with (the grader needs ``tritonclient``: ``pip install -e ".[course]"``)::

    python -m exercises check 12
    pytest exercises/test_serve_infer.py

The grader saves a tiny model, runs your app with ``wsgiref.simple_server`` on a free port of
127.0.0.1, asks it for predictions with Triton's own client (``tritonclient.http``), and sends
the bad requests above with ``urllib``. To try it by hand::

    from wsgiref.simple_server import make_server
    app = make_app(mg.load_model("tiny.safetensors"), name="tiny")
    make_server("127.0.0.1", 8000, app).serve_forever()

minigrad's full server (binary tensors, batching, metadata, health routes) is
``minigrad/serve/app.py``; read it after you are done.
"""

import json  # noqa: F401  (you will need them)
import re  # noqa: F401

import numpy as np  # noqa: F401


def make_app(model, name="model"):
    """A WSGI application that answers ``POST /v2/models/<name>/infer`` with ``model``'s
    predictions (see the module docstring); ``model`` has ``predict(x)`` and
    ``build_input_shape`` (the shape of one row, without the batch axis)."""
    raise NotImplementedError("exercise: return a function app(environ, start_response) that "
                              "routes, parses the JSON body, checks the shape and predicts")
