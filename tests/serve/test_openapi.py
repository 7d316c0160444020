"""The OpenAPI description in minigrad/serve/openapi.yaml is a valid OpenAPI 3.1 document, has
exactly the app's routes and methods, and tells the truth: every answer the app gives (successes
and every kind of error) has a status, a media type, headers and a body that the description
documents for that operation, and every status it documents is one the app gives."""

import gzip
import importlib.resources
import io
import json
import re
import struct
from wsgiref.util import setup_testing_defaults

import numpy as np
import pytest

yaml = pytest.importorskip("yaml")
jsonschema = pytest.importorskip("jsonschema")  # with referencing: jsonschema >= 4.18
pytest.importorskip("referencing")
pytest.importorskip("prometheus_client")

from referencing import Registry, Resource  # noqa: E402
from referencing.jsonschema import DRAFT202012  # noqa: E402

import minigrad as mg  # noqa: E402
from minigrad import nn  # noqa: E402
from minigrad.serve.app import _ROUTES  # noqa: E402

SPEC_URI = "urn:minigrad:openapi"
TOKEN = "s3cret-token"
MAX_BODY = 4096


# --- the document -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def spec():
    text = importlib.resources.files("minigrad.serve").joinpath("openapi.yaml").read_text()
    return yaml.safe_load(text)


def _pointer(*parts):
    """A JSON pointer fragment ``#/a/b`` with ``~`` and ``/`` escaped in each part."""
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _follow(spec, pointer):
    node = spec
    for part in pointer.lstrip("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _resolve(spec, node, pointer):
    """``(object, its pointer)``, following a ``$ref`` to a component."""
    while isinstance(node, dict) and "$ref" in node:
        pointer = node["$ref"]
        node = _follow(spec, pointer)
    return node, pointer


def _operations(spec):
    for template, item in spec["paths"].items():
        for method in ("get", "put", "post", "delete", "options", "head", "patch", "trace"):
            if method in item:
                yield template, method, item[method]


def _template_regex(template):
    return re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)))


def find_operation(spec, method, path):
    """``(template, operation)`` that documents an answer to ``method path``: the path's
    operation for ``method``, or for a method the path does not take, its one operation (that
    documents the 405, and the 401 that comes first when a token is missing); (None, None)
    for a path that is not in the spec."""
    matches = [t for t in spec["paths"] if _template_regex(t).fullmatch(path)]
    if len(matches) > 1:  # OpenAPI: a path without templating wins (/v2/models/stats)
        matches = [t for t in matches if "{" not in t]
    assert len(matches) <= 1, f"{path} matches several spec paths: {matches}"
    if not matches:
        return None, None
    template = matches[0]
    operations = [(m, op) for t, m, op in _operations(spec) if t == template]
    for name, operation in operations:
        if name == method.lower():
            return template, (name, operation)
    assert len(operations) == 1, f"{template}: which operation documents a {method}?"
    return template, operations[0]


def _example_path(template):
    return template.replace("{model_name}", "tiny").replace("{model_version}", "2")


def route_mismatches(spec):
    """What differs between the spec's paths and methods and the app's ``_ROUTES``."""
    problems = []
    for template in spec["paths"]:
        path = _example_path(template)
        routes = [r for r in _ROUTES if r[0].fullmatch(path)]
        methods = {m.upper() for t, m, _ in _operations(spec) if t == template}
        if len(routes) != 1:
            problems.append(f"spec path {template} is served by {len(routes)} routes")
        elif methods != set(routes[0][1]):
            problems.append(f"{template}: spec has {sorted(methods)}, app {routes[0][1]}")
    for pattern, methods, endpoint in _ROUTES:
        params = set()
        for template in spec["paths"]:
            if pattern.fullmatch(_example_path(template)):
                params |= set(re.findall(r"\{([^}]+)\}", template))
        wanted = {{"model": "model_name", "version": "model_version"}[g]
                  for g in pattern.groupindex}
        if not any(pattern.fullmatch(_example_path(t)) for t in spec["paths"]):
            problems.append(f"route {endpoint} ({pattern.pattern}) has no spec path")
        elif params != wanted:  # e.g. the /versions/{model_version} form is missing
            problems.append(f"route {endpoint}: spec paths give {sorted(params)}, the route "
                            f"takes {sorted(wanted)}")
    return problems


def test_the_spec_is_a_valid_openapi_3_1_document(spec):
    validator = pytest.importorskip(
        "openapi_spec_validator", reason="openapi-spec-validator is not installed "
        "(the structural tests below still run)")
    validator.validate(spec)  # raises with the first problem


def test_the_spec_is_openapi_3_1_with_valid_json_schemas_and_resolvable_refs(spec):
    assert re.fullmatch(r"3\.1\.\d+", spec["openapi"])
    assert spec["info"]["title"] and spec["info"]["version"]
    for name, schema in spec["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)
    for ref in refs(spec):
        assert ref.startswith("#/"), ref
        _follow(spec, ref)  # KeyError names a dangling reference
    for template, method, operation in _operations(spec):
        assert operation["responses"], (template, method)
        for status, response in operation["responses"].items():
            response, _ = _resolve(spec, response, "")
            assert re.fullmatch(r"[1-5]\d\d", status) and response["description"]


def test_a_broken_spec_is_caught(spec):
    validator = pytest.importorskip("openapi_spec_validator")
    broken = json.loads(json.dumps(spec))
    broken["paths"]["/v2"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] \
        = {"$ref": "#/components/schemas/NoSuchSchema"}
    with pytest.raises(Exception):
        validator.validate(broken)


def test_every_route_of_the_app_has_a_path_in_the_spec_and_vice_versa(spec):
    assert route_mismatches(spec) == []
    # 6 plain routes, 5 model routes with and without version, 2 repository model routes
    assert len(spec["paths"]) == 18


def test_the_route_comparison_notices_a_missing_or_extra_path(spec):
    missing = json.loads(json.dumps(spec))
    del missing["paths"]["/v2/models/{model_name}/versions/{model_version}/infer"]
    assert any("route infer" in p for p in route_mismatches(missing))
    extra = json.loads(json.dumps(spec))
    extra["paths"]["/v2/repository/index"] = extra["paths"]["/v2"]
    extra["paths"]["/metrics"]["post"] = extra["paths"]["/metrics"]["get"]
    problems = route_mismatches(extra)
    assert any("/v2/repository/index" in p for p in problems)
    assert any("/metrics" in p and "POST" in p for p in problems)


def test_the_datatype_enum_is_what_the_server_understands(spec):
    assert spec["components"]["schemas"]["Datatype"]["enum"] == list(mg.serve.DATATYPES)


def test_only_the_health_probes_are_exempt_from_the_bearer_token(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["bearerAuth"]["description"]}
    assert spec["security"] == [{"bearerAuth": []}]
    exempt = {t for t, _, op in _operations(spec) if op.get("security", spec["security"]) == []}
    assert exempt == {"/v2/health/live", "/v2/health/ready"}


# --- the app ----------------------------------------------------------------------------------
class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.body = body

    @property
    def media_type(self):
        return self.headers["content-type"].split(";")[0].strip()

    def json(self):
        return json.loads(self.body)


def call(app, method, path, body=b"", headers=None):
    """One request through the WSGI app, as a server would make it."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
               "wsgi.input": io.BytesIO(body)}
    setup_testing_defaults(environ)
    for name, value in (headers or {}).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started = {}

    def start_response(status, response_headers):
        started["status"], started["headers"] = int(status.split()[0]), response_headers

    chunks = app(environ, start_response)
    return Answer(started["status"], started["headers"], b"".join(chunks))


def tiny_model():
    mg.manual_seed(0)
    return mg.Sequential([nn.Dense(3, activation="softmax", input_shape=(4,))], name="tiny")


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    """A model repository: "tiny" in versions 1 and 2, "overflow", whose output is
    infinite for large inputs (JSON cannot carry it), and "spare", whose version 2 takes 5
    features where version 1 takes 4."""
    root = tmp_path_factory.mktemp("models")
    model = tiny_model()
    for version in ("1", "2"):
        (root / "tiny" / version).mkdir(parents=True)
        model.save(root / "tiny" / version / "model.safetensors")
    overflow = mg.Sequential([nn.Dense(2, input_shape=(2,), kernel_initializer="ones")])
    overflow.save(root / "overflow.safetensors")
    mg.serve.publish_version(tiny_model(), root, "spare")
    mg.serve.publish_version(mg.Sequential([nn.Dense(3, input_shape=(5,))]), root, "spare")
    return root


@pytest.fixture(scope="module")
def apps(repository):
    made = {"open": mg.serve.create_app(repository, max_body_bytes=MAX_BODY),
            "token": mg.serve.create_app(repository, token=TOKEN),
            "unbatched": mg.serve.create_app(repository, max_batch_size=0)}
    # A live repository in explicit mode: load and unload requests (of "tiny", and "spare",
    # whose version 2 does not fit its version 1: its reload is refused).
    made["repo"] = mg.serve.create_app(repository=repository, model_control_mode="explicit")
    made["repo"].repository.load("spare")
    closing = mg.serve.create_app(repository)  # shutting down: not ready, refuses inference
    closing.accepting = False
    closing.close()
    made["closing"] = closing
    yield made
    for app in made.values():
        app.close()


X = [[0.1, 0.2, 0.3, 0.4], [-1.0, 0.5, 2.0, 0.0]]


def infer_json(data=X, **extra):
    return {"inputs": [{"name": "input", "shape": [len(data), 4], "datatype": "FP32",
                        "data": data}], **extra}


def binary_body(rows, binary_output=True):
    raw = np.asarray(rows, dtype="<f4").tobytes()
    header = json.dumps({"inputs": [{"name": "input", "shape": [len(rows), 4],
                                     "datatype": "FP32",
                                     "parameters": {"binary_data_size": len(raw)}}],
                         "parameters": {"binary_data_output": binary_output}}).encode()
    return header + raw, {"Inference-Header-Content-Length": str(len(header))}


def _gzip_bomb():
    return gzip.compress(b" " * (MAX_BODY * 4))


BINARY, BINARY_HEADERS = binary_body(X)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PREFIXES = {"{m}": ["/v2/models/tiny", "/v2/models/tiny/versions/1"],
            "{o}": ["/v2/models/overflow", "/v2/models/overflow/versions/1"]}
HUGE = {"inputs": [{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [3e38, 3e38]}]}

# (app, method, path ({m}, {o}: a model's routes, with and without version), body, headers,
#  expected status)
CASES = [
    ("open", "GET", "/v2", b"", {}, 200),
    ("open", "GET", "/v2/health/live", b"", {}, 200),
    ("open", "GET", "/v2/health/ready", b"", {}, 200),
    ("open", "GET", "{m}", b"", {}, 200),
    ("open", "GET", "{m}/ready", b"", {}, 200),
    ("open", "POST", "{m}/infer", infer_json(), {}, 200),
    ("unbatched", "POST", "{m}/infer", infer_json(id="req-7"), {"X-Request-ID": "abc"}, 200),
    ("open", "POST", "{m}/infer", BINARY, BINARY_HEADERS, 200),
    ("open", "POST", "{m}/infer",
     infer_json(outputs=[{"name": "output", "parameters": {"binary_data": True}}]), {}, 200),
    ("open", "POST", "{m}/infer", gzip.compress(json.dumps(infer_json()).encode()),
     {"Content-Encoding": "gzip"}, 200),
    ("open", "GET", "/metrics", b"", {}, 200),
    ("open", "GET", "{m}/config", b"", {}, 200),
    ("unbatched", "GET", "{m}/config", b"", {}, 200),
    ("open", "GET", "{m}/stats", b"", {}, 200),
    ("open", "GET", "/v2/models/stats", b"", {}, 200),
    ("open", "POST", "/v2/repository/index", b"", {}, 200),
    ("repo", "POST", "/v2/repository/index", b"", {}, 200),
    ("repo", "POST", "/v2/repository/index", {"ready": True}, {}, 200),
    ("repo", "POST", "/v2/repository/models/tiny/load", b"", {}, 200),
    ("repo", "POST", "/v2/repository/models/tiny/load",
     {"parameters": {"config": json.dumps({"version_policy": {"all": {}}})}}, {}, 200),
    ("repo", "POST", "/v2/repository/models/tiny/unload", b"", {}, 200),
    ("repo", "POST", "/v2/repository/models/nothing-here/unload",
     {"parameters": {"unload_dependents": True}}, {}, 200),
    ("token", "GET", "/v2/health/live", b"", {}, 200),
    ("token", "GET", "{m}", b"", AUTH, 200),
    ("token", "POST", "{m}/infer", infer_json(), AUTH, 200),
    # 400: the request is wrong
    ("open", "POST", "{m}/infer", b'{"inputs": [', {}, 400),
    ("open", "POST", "{m}/infer", b'[1, 2]', {}, 400),
    ("open", "POST", "{m}/infer", {"inputs": []}, {}, 400),
    ("open", "POST", "{m}/infer", infer_json([[0.1, 0.2, 0.3]]), {}, 400),
    ("open", "POST", "{m}/infer", infer_json([[0.1, 0.2, 0.3, "x"]]), {}, 400),
    ("open", "POST", "{m}/infer", b'{"inputs": [{"name": "input", "shape": [1, 4], '
     b'"datatype": "FP32", "data": [NaN, 0, 0, 0]}]}', {}, 400),
    ("open", "POST", "{m}/infer", {"inputs": [{"name": "input", "shape": [1, 4],
                                               "datatype": "INT64", "data": [1, 2, 3, 4]}]},
     {}, 400),
    ("open", "POST", "{m}/infer", {"inputs": [{"name": "x", "shape": [1, 4],
                                               "datatype": "FP32", "data": [1, 2, 3, 4]}]},
     {}, 400),
    ("open", "POST", "{m}/infer", infer_json(outputs=[{"name": "probabilities"}]), {}, 400),
    ("open", "POST", "{m}/infer", infer_json(outputs=[{"name": "output", "parameters":
                                                       {"classification": 3}}]), {}, 400),
    ("open", "POST", "{m}/infer", BINARY[:-4], BINARY_HEADERS, 400),
    ("open", "POST", "{m}/infer", BINARY, {"Inference-Header-Content-Length": "99999"}, 400),
    ("repo", "POST", "/v2/repository/index", {"ready": "yes"}, {}, 400),
    ("repo", "POST", "/v2/repository/index", b"[1]", {}, 400),
    ("open", "POST", "/v2/repository/models/tiny/load", b"", {}, 400),
    ("repo", "POST", "/v2/repository/models/tiny/load",
     {"parameters": {"file:1/model.safetensors": "AAAA"}}, {}, 400),
    ("repo", "POST", "/v2/repository/models/tiny/load",
     {"parameters": {"config": json.dumps({"max_batch_size": 1})}}, {}, 400),
    ("repo", "POST", "/v2/repository/models/..hidden/load", b"", {}, 400),
    ("repo", "POST", "/v2/repository/models/spare/load",
     {"parameters": {"config": json.dumps({"version_policy": {"all": {}}})}}, {}, 400),
    ("open", "POST", "/v2/repository/models/tiny/unload", b"", {}, 400),
    ("repo", "POST", "/v2/repository/models/tiny/unload",
     {"parameters": {"unload_dependents": "yes"}}, {}, 400),
    # 401: no token, or another one
    ("token", "GET", "/v2", b"", {}, 401),
    ("token", "GET", "{m}", b"", {}, 401),
    ("token", "GET", "{m}/ready", b"", {"Authorization": "Bearer wrong"}, 401),
    ("token", "POST", "{m}/infer", infer_json(), {"Authorization": TOKEN}, 401),
    ("token", "GET", "/metrics", b"", {}, 401),
    ("token", "GET", "{m}/config", b"", {}, 401),
    ("token", "GET", "{m}/stats", b"", {}, 401),
    ("token", "GET", "/v2/models/stats", b"", {}, 401),
    ("token", "POST", "/v2/repository/index", b"", {}, 401),
    ("token", "POST", "/v2/repository/models/tiny/load", b"", {}, 401),
    ("token", "POST", "/v2/repository/models/tiny/unload", b"", {}, 401),
    # 404: no such model or version
    ("open", "GET", "/v2/models/nope", b"", {}, 404),
    ("open", "GET", "/v2/models/tiny/versions/9", b"", {}, 404),
    ("open", "GET", "/v2/models/nope/ready", b"", {}, 404),
    ("open", "GET", "/v2/models/tiny/versions/9/ready", b"", {}, 404),
    ("open", "POST", "/v2/models/nope/infer", infer_json(), {}, 404),
    ("open", "POST", "/v2/models/tiny/versions/9/infer", infer_json(), {}, 404),
    ("open", "GET", "/v2/models/nope/config", b"", {}, 404),
    ("open", "GET", "/v2/models/tiny/versions/9/config", b"", {}, 404),
    ("open", "GET", "/v2/models/nope/stats", b"", {}, 404),
    ("open", "GET", "/v2/models/tiny/versions/9/stats", b"", {}, 404),
    ("repo", "POST", "/v2/repository/models/nope/load", b"", {}, 404),
    # 405: the route exists, not for this method
    ("open", "POST", "/v2", b"", {}, 405),
    ("open", "DELETE", "/v2/health/live", b"", {}, 405),
    ("open", "POST", "/v2/health/ready", b"", {}, 405),
    ("open", "PUT", "{m}", b"", {}, 405),
    ("open", "POST", "{m}/ready", b"", {}, 405),
    ("open", "GET", "{m}/infer", b"", {}, 405),
    ("open", "POST", "/metrics", b"", {}, 405),
    ("open", "POST", "{m}/config", b"", {}, 405),
    ("open", "POST", "{m}/stats", b"", {}, 405),
    ("open", "DELETE", "/v2/models/stats", b"", {}, 405),
    ("open", "GET", "/v2/repository/index", b"", {}, 405),
    ("open", "GET", "/v2/repository/models/tiny/load", b"", {}, 405),
    ("open", "PUT", "/v2/repository/models/tiny/unload", b"", {}, 405),
    # 413, 415: the body is too large or encoded in an unknown way
    ("open", "POST", "{m}/infer", b"x" * (MAX_BODY + 1), {}, 413),
    ("open", "POST", "{m}/infer", _gzip_bomb(), {"Content-Encoding": "gzip"}, 413),
    ("open", "POST", "{m}/infer", infer_json(), {"Content-Encoding": "br"}, 415),
    ("open", "POST", "/v2/repository/index", b"x" * (MAX_BODY + 1), {}, 413),
    ("open", "POST", "/v2/repository/models/tiny/load", b"x" * (MAX_BODY + 1), {}, 413),
    ("open", "POST", "/v2/repository/models/tiny/unload", b"x" * (MAX_BODY + 1), {}, 413),
    ("open", "POST", "/v2/repository/index", b"{}", {"Content-Encoding": "br"}, 415),
    ("open", "POST", "/v2/repository/models/tiny/load", b"{}", {"Content-Encoding": "br"}, 415),
    ("open", "POST", "/v2/repository/models/tiny/unload", b"{}", {"Content-Encoding": "br"},
     415),
    # 500: an infinite output asked for as JSON (as binary data it is fine)
    ("open", "POST", "{o}/infer", HUGE, {}, 500),
    ("open", "POST", "{o}/infer", {**HUGE, "parameters": {"binary_data_output": True}}, {}, 200),
    # 503: shutting down
    ("closing", "GET", "/v2/health/ready", b"", {}, 503),
    ("closing", "GET", "{m}/ready", b"", {}, 503),
    ("closing", "POST", "{m}/infer", infer_json(), {}, 503),
    ("closing", "GET", "/v2/health/live", b"", {}, 200),
]


def _expand(cases):
    for app, method, path, body, headers, status in cases:
        key = path[:3]
        for prefix in PREFIXES.get(key, [""]):
            yield app, method, path.replace(key, prefix) if prefix else path, body, headers, \
                status


EXPANDED = list(_expand(CASES))


def _case_id(case):
    app, method, path, _, headers, status = case
    return f"{status}-{app}-{method}-{path}" + ("-binary" if headers.get(
        "Inference-Header-Content-Length") else "")


def _validate(spec, instance, pointer):
    registry = Registry().with_resource(
        SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    validator = jsonschema.Draft202012Validator({"$ref": SPEC_URI + pointer},
                                                registry=registry)
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, f"{instance!r} does not fit {pointer}: " + "; ".join(
        e.message for e in errors)


def spec_violations(spec, method, path, answer):
    """How ``answer`` to ``method path`` departs from the spec (an empty list when it fits)."""
    template, operation = find_operation(spec, method, path)
    if operation is None:  # not a route: only the error shape applies
        if answer.status != 404:
            return [f"{method} {path}: no path in the spec, answered {answer.status}"]
        return _body_violations(spec, answer, _pointer("components", "schemas", "Error"))
    documented_method, operation = operation
    if documented_method != method.lower() and answer.status not in (401, 405):
        return [f"{method} {template}: the spec has no {method}, answered {answer.status}"]
    responses = operation["responses"]
    status = str(answer.status)
    if status not in responses:
        return [f"{method} {template}: status {status} is not documented "
                f"(documented: {sorted(responses)})"]
    pointer = _pointer("paths", template, documented_method, "responses", status)
    response, pointer = _resolve(spec, responses[status], pointer)
    problems = []
    for name, header in response.get("headers", {}).items():
        header, _ = _resolve(spec, header, "")
        if header.get("required") and name.lower() not in answer.headers:
            problems.append(f"{method} {template} {status}: no {name} header")
    if answer.media_type not in response.get("content", {}):
        return problems + [f"{method} {template} {status}: media type {answer.media_type} is "
                           f"not documented ({sorted(response.get('content', {}))})"]
    schema_pointer = pointer + "/" + _pointer("content", answer.media_type, "schema")[2:]
    return problems + _body_violations(spec, answer, schema_pointer)


def _body_violations(spec, answer, schema_pointer):
    try:
        if answer.media_type == "application/json":
            _validate(spec, answer.json(), schema_pointer)
        elif answer.media_type == "application/octet-stream":
            _validate(spec, answer.body.decode("latin-1"), schema_pointer)
            size = int(answer.headers["inference-header-content-length"])
            header = json.loads(answer.body[:size])
            _validate(spec, header, _pointer("components", "schemas", "InferenceResponse"))
            sizes = [o["parameters"]["binary_data_size"] for o in header["outputs"]
                     if "parameters" in o]
            if sum(sizes) != len(answer.body) - size:
                return [f"binary outputs of {sizes} bytes, {len(answer.body) - size} sent"]
        else:
            _validate(spec, answer.body.decode(), schema_pointer)
    except AssertionError as error:
        return [str(error)]
    return []


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.parametrize("case", EXPANDED, ids=[_case_id(c) for c in EXPANDED])
def test_every_answer_of_the_app_is_documented_by_the_spec(spec, apps, case):
    app, method, path, body, headers, expected = case
    answer = call(apps[app], method, path, body, headers)
    assert answer.status == expected, answer.body[:300]
    assert spec_violations(spec, method, path, answer) == []


def test_every_status_the_spec_documents_is_one_the_app_gives(spec):
    """The reverse: the cases above reach every documented (operation, status) pair."""
    reached = set()
    for _, method, path, _, _, status in EXPANDED:
        template, operation = find_operation(spec, method, path)
        if operation is not None:
            reached.add((template, operation[0], str(status)))
    documented = {(t, m, s) for t, m, op in _operations(spec) for s in op["responses"]}
    assert documented - reached == set()


def test_unknown_paths_get_a_json_404(spec, apps):
    answer = call(apps["open"], "GET", "/v3/models/tiny")
    assert answer.status == 404
    assert spec_violations(spec, "GET", "/v3/models/tiny", answer) == []


def test_the_binary_answer_holds_the_same_numbers_as_the_json_one(apps):
    json_answer = call(apps["open"], "POST", "/v2/models/tiny/infer", infer_json()).json()
    answer = call(apps["open"], "POST", "/v2/models/tiny/infer", BINARY, BINARY_HEADERS)
    size = int(answer.headers["inference-header-content-length"])
    header = json.loads(answer.body[:size])
    assert header["outputs"][0]["shape"] == [2, 3]
    values = struct.unpack("<6f", answer.body[size:])
    np.testing.assert_allclose(values, json_answer["outputs"][0]["data"], rtol=1e-6)
    np.testing.assert_allclose(values, tiny_model().predict(np.float32(X)).ravel(), rtol=1e-6)


def test_the_checker_rejects_answers_that_depart_from_the_spec(spec, apps):
    good = call(apps["open"], "POST", "/v2/models/tiny/infer", infer_json())
    wrong_shape = Answer(200, [("Content-Type", "application/json"), ("X-Request-ID", "a")],
                         json.dumps({"model_name": "tiny", "outputs": [{"name": "output"}]}
                                    ).encode())
    undocumented = Answer(418, good.headers.items(), good.body)
    error_as_text = Answer(404, [("Content-Type", "text/plain"), ("X-Request-ID", "a")],
                           b"not found")
    no_allow = Answer(405, [("Content-Type", "application/json"), ("X-Request-ID", "a")],
                      b'{"error": "no"}')
    error_with_number = Answer(400, [("Content-Type", "application/json"),
                                     ("X-Request-ID", "a")], b'{"error": 3}')
    path = "/v2/models/tiny/infer"
    assert spec_violations(spec, "POST", path, good) == []
    assert spec_violations(spec, "POST", path, wrong_shape)
    assert spec_violations(spec, "POST", path, undocumented)
    assert spec_violations(spec, "POST", path, error_as_text)
    assert spec_violations(spec, "POST", path, no_allow)
    assert spec_violations(spec, "POST", path, error_with_number)
