"""A live model repository: Triton's repository API driven by tritonclient, the control modes,
version policies, swaps that no request notices, and broken versions refused."""

import json
import logging
import os
import threading

import numpy as np
import pytest

import minigrad as mg

from .conftest import call, infer_body, make_mlp, requires_serve_extra

requires_serve_extra()
httpclient = pytest.importorskip("tritonclient.http", reason="tritonclient[http] is not installed")
from tritonclient.utils import InferenceServerException  # noqa: E402

from minigrad.serve.repository import ModelRepository  # noqa: E402

X = np.random.default_rng(1).random((3, 4), dtype=np.float32)
TOKEN = "repo-token"


def publish(root, seed, name="tiny", version=None, features=4):
    return mg.serve.publish_version(make_mlp(seed=seed, features=features), root, name, version)


def expected(seed, features=4):
    return make_mlp(seed=seed, features=features).predict(X)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repository"
    root.mkdir()
    return root


@pytest.fixture
def apps():
    made = []

    def make(root, **options):
        app = mg.serve.create_app(repository=root, **options)
        made.append(app)
        return app

    yield make
    for app in made:
        app.close()


def infer(app, version=None, name="tiny"):
    path = f"/v2/models/{name}" + (f"/versions/{version}" if version else "") + "/infer"
    answer = call(app, "POST", path, infer_body(X))
    if answer.status != 200:
        return answer.status, None, answer.json()["error"]
    (output,) = answer.json()["outputs"]
    data = np.array(output["data"], dtype=np.float32).reshape(output["shape"])
    return 200, answer.json()["model_version"], data


def poll(app):
    app.repository.poll()


def metric(app, name, **labels):
    return app.metrics.registry.get_sample_value(name, labels) or 0.0


# --- tritonclient against a live server ------------------------------------------------------
def test_tritonclient_drives_load_unload_index_config_and_statistics(repo, apps, live_server):
    publish(repo, 1, version=1)
    publish(repo, 2, version=2)
    publish(repo, 3, name="other")
    address = live_server(apps(repo, model_control_mode="explicit", token=TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    client = httpclient.InferenceServerClient(address)

    assert client.get_model_repository_index(headers=auth) == [{"name": "other"},
                                                               {"name": "tiny"}]
    with pytest.raises(InferenceServerException, match="bearer token") as error:
        client.load_model("tiny")
    assert error.value.status() == "401"
    client.load_model("tiny", headers=auth)
    assert client.is_model_ready("tiny", headers=auth)
    assert client.get_model_repository_index(headers=auth) == [
        {"name": "other"}, {"name": "tiny", "version": "2", "state": "READY"}]

    tensor = httpclient.InferInput("input", list(X.shape), "FP32").set_data_from_numpy(X)
    result = client.infer("tiny", [tensor], headers=auth)
    assert result.get_response()["model_version"] == "2"
    np.testing.assert_allclose(result.as_numpy("output"), expected(2), rtol=1e-6)

    config = client.get_model_config("tiny", headers=auth)
    assert config == {
        "name": "tiny", "platform": "minigrad", "backend": "minigrad",
        "version_policy": {"latest": {"num_versions": 1}}, "max_batch_size": 64,
        "input": [{"name": "input", "data_type": "TYPE_FP32", "format": "FORMAT_NONE",
                   "dims": [4]}],
        "output": [{"name": "output", "data_type": "TYPE_FP32", "dims": [3]}],
        "dynamic_batching": {"max_queue_delay_microseconds": 0}}

    # The configuration read back, its policy changed, is what a load request may send.
    config["version_policy"] = {"all": {}}
    client.load_model("tiny", headers=auth, config=json.dumps(config))
    assert client.get_model_metadata("tiny", headers=auth)["versions"] == ["1", "2"]
    one = client.infer("tiny", [tensor], model_version="1", headers=auth)
    np.testing.assert_allclose(one.as_numpy("output"), expected(1), rtol=1e-6)

    stats = client.get_inference_statistics("tiny", headers=auth)["model_stats"]
    assert [(s["version"], s["inference_stats"]["success"]["count"], s["inference_count"])
            for s in stats] == [("1", 1, 3), ("2", 1, 3)]
    (version_1,) = client.get_inference_statistics("tiny", "1", headers=auth)["model_stats"]
    assert version_1["execution_count"] == 1 and version_1["last_inference"] > 0
    for part in ("queue", "compute_input", "compute_infer", "compute_output"):
        assert version_1["inference_stats"][part]["count"] == 1
    assert version_1["batch_stats"][0]["batch_size"] == 3
    assert version_1["inference_stats"]["success"]["ns"] >= \
        version_1["inference_stats"]["compute_infer"]["ns"] > 0
    everything = client.get_inference_statistics(headers=auth)["model_stats"]
    assert [(s["name"], s["version"]) for s in everything] == [("tiny", "1"), ("tiny", "2")]

    client.unload_model("tiny", headers=auth, unload_dependents=True)
    assert client.get_model_repository_index(headers=auth) == [
        {"name": "other"}, {"name": "tiny", "state": "UNAVAILABLE", "reason": "unloaded"}]
    with pytest.raises(InferenceServerException) as error:
        client.infer("tiny", [tensor], headers=auth)
    assert error.value.status() == "404"


def test_file_overrides_and_other_settings_are_refused(repo, apps):
    publish(repo, 1)
    app = apps(repo, model_control_mode="explicit", load=["tiny"])
    path = "/v2/repository/models/tiny/load"
    answer = call(app, "POST", path, {"parameters": {
        "config": "{}", "file:1/model.safetensors": "AAAA"}})
    assert answer.status == 400 and "file overrides" in answer.json()["error"]
    answer = call(app, "POST", path, {"parameters": {"config": json.dumps(
        {"max_batch_size": 8})}})
    assert answer.status == 400 and "'max_batch_size' cannot be changed" in answer.json()["error"]
    answer = call(app, "POST", path, {"parameters": {"config": json.dumps(
        {"version_policy": {"latest": {"num_versions": 0}}})}})
    assert answer.status == 400 and "num_versions" in answer.json()["error"]
    answer = call(app, "POST", path, {"parameters": {"config": "{not json"}})
    assert answer.status == 400 and "malformed JSON" in answer.json()["error"]
    assert infer(app)[1] == "1"  # still served


@pytest.mark.parametrize("name, status", [
    ("..", 400), (".hidden", 400), ("a\\b", 400), ("stats", 400), ("missing", 404),
    ("outside", 400)])
def test_names_never_reach_outside_the_repository(repo, apps, tmp_path, name, status):
    publish(tmp_path, 1, name="elsewhere")
    (repo / "outside").symlink_to(tmp_path / "elsewhere")  # a link leading out is refused
    (repo / ".hidden").mkdir()
    make_mlp().save(repo / ".hidden" / "model.safetensors")
    app = apps(repo, model_control_mode="explicit")
    answer = call(app, "POST", f"/v2/repository/models/{name}/load")
    assert answer.status == status, answer.body
    assert app.models.names == []


def test_a_linked_version_folder_leading_outside_is_refused(repo, apps, tmp_path):
    publish(repo, 1, version=1)
    publish(tmp_path, 2, name="elsewhere", version=2)
    (repo / "tiny" / "2").symlink_to(tmp_path / "elsewhere" / "2")
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    assert infer(app)[1] == "1"
    (entry,) = [e for e in app.repository.index() if e.get("version") == "2"]
    assert entry["state"] == "UNAVAILABLE" and "leads outside" in entry["reason"]


@pytest.mark.parametrize("mode", ["none", "poll"])
def test_load_and_unload_need_the_explicit_mode(repo, apps, mode):
    publish(repo, 1)
    app = apps(repo, model_control_mode=mode, repository_poll_secs=3600)
    for action in ("load", "unload"):
        answer = call(app, "POST", f"/v2/repository/models/tiny/{action}")
        assert answer.status == 400 and "explicit" in answer.json()["error"]
    assert infer(app)[1] == "1"


def test_fixed_models_list_as_ready_and_refuse_loads(app_for, mlp):
    app = app_for(mlp)
    assert call(app, "POST", "/v2/repository/index").json() == [
        {"name": "tiny", "version": "1", "state": "READY"}]
    answer = call(app, "POST", "/v2/repository/models/tiny/load")
    assert answer.status == 400 and "--repository" in answer.json()["error"]
    assert call(app, "GET", "/v2/models/tiny/config").json()["version_policy"] == {"all": {}}


# --- control modes and version policies ------------------------------------------------------
def test_none_mode_loads_everything_at_start_and_changes_nothing(repo, apps):
    publish(repo, 1, version=1)
    publish(repo, 2, name="other")
    app = apps(repo)
    assert app.models.names == ["other", "tiny"]
    publish(repo, 2, version=2)
    assert app.repository._thread is None  # nobody scans
    assert infer(app)[1] == "1"


def test_explicit_mode_loads_the_models_named_at_start(repo, apps):
    publish(repo, 1)
    publish(repo, 2, name="other")
    assert apps(repo, model_control_mode="explicit", load=["other"]).models.names == ["other"]
    assert apps(repo, model_control_mode="explicit", load=["*"]).models.names == [
        "other", "tiny"]
    with pytest.raises(mg.serve.ServeError, match="no model folder 'nope'"):
        mg.serve.create_app(repository=repo, model_control_mode="explicit", load=["nope"])
    with pytest.raises(ValueError, match="explicit model control mode"):
        ModelRepository(repo, "poll", load=["tiny"])
    with pytest.raises(ValueError, match="model control mode 'sometimes'"):
        ModelRepository(repo, "sometimes")


@pytest.mark.parametrize("policy, served", [
    (None, ["3"]),
    ({"latest": {"num_versions": 2}}, ["2", "3"]),
    ({"all": {}}, ["1", "2", "3"]),
    ({"specific": {"versions": [1, 3, 7]}}, ["1", "3"]),
])
def test_version_policies_from_config_json(repo, apps, policy, served):
    for version in (1, 2, 3):
        publish(repo, version, version=version)
    if policy is not None:
        (repo / "tiny" / "config.json").write_text(json.dumps({"version_policy": policy}))
    app = apps(repo)
    assert app.models.versions("tiny") == served
    config = call(app, "GET", "/v2/models/tiny/config").json()
    assert config["version_policy"] == (policy or {"latest": {"num_versions": 1}})


def test_a_malformed_config_json_is_reported_not_served(repo, apps):
    publish(repo, 1)
    (repo / "tiny" / "config.json").write_text('{"version_policy": {"newest": {}}}')
    app = apps(repo)
    assert app.models.names == []
    (entry,) = app.repository.index()
    assert entry["state"] == "UNAVAILABLE" and "unknown policy 'newest'" in entry["reason"]


# --- swaps in poll mode ---------------------------------------------------------------------
def test_a_new_version_is_loaded_warmed_up_and_swapped_in(repo, apps, caplog):
    publish(repo, 1)
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    old = app.models.get("tiny")
    assert infer(app)[1] == "1"
    publish(repo, 2)
    with caplog.at_level(logging.INFO, logger="minigrad.serve"):
        poll(app)
    status, version, output = infer(app)
    assert (status, version) == (200, "2")
    np.testing.assert_allclose(output, expected(2), rtol=1e-6)
    assert old.released and old.batcher._closed
    assert app.models.versions("tiny") == ["2"]
    assert metric(app, "minigrad_model_loads_total", model="tiny") == 2
    assert metric(app, "minigrad_model_unloads_total", model="tiny") == 1
    assert metric(app, "minigrad_model_version_served", model="tiny", version="1") == 0
    assert metric(app, "minigrad_model_version_served", model="tiny", version="2") == 1
    assert metric(app, "minigrad_model_load_duration_seconds_count", model="tiny") == 2
    assert metric(app, "minigrad_inference_requests_total", model="tiny", version="2",
                  outcome="success") == 1
    assert any("version 2: loaded" in r.getMessage() for r in caplog.records)
    assert any("version 1 released" in r.getMessage() for r in caplog.records)


def test_the_poll_thread_finds_new_versions_by_itself(repo, apps):
    publish(repo, 1)
    app = apps(repo, model_control_mode="poll", repository_poll_secs=0.05)
    publish(repo, 2)
    for _ in range(200):
        if app.models.versions("tiny") == ["2"]:
            break
        threading.Event().wait(0.02)
    assert infer(app)[1] == "2"


def test_a_request_running_during_a_swap_finishes_on_its_version(repo, apps):
    publish(repo, 1)
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600, max_batch_size=0)
    old = app.models.get("tiny")
    entered, leave = threading.Event(), threading.Event()
    real = old.served.predict

    def slow(rows):
        entered.set()
        assert leave.wait(10)
        return real(rows)

    old.predict = slow
    answers = []
    thread = threading.Thread(target=lambda: answers.append(infer(app)))
    thread.start()
    assert entered.wait(10)
    publish(repo, 2)
    poll(app)  # swaps while the request is inside version 1's forward pass
    assert old.retired and not old.released and old.users == 1
    assert infer(app)[1] == "2"  # new requests go to version 2 meanwhile
    leave.set()
    thread.join(10)
    (status, version, output), = answers
    assert (status, version) == (200, "1")
    np.testing.assert_allclose(output, expected(1), rtol=1e-6)
    assert old.released and old.users == 0


def truncate(file):
    data = file.read_bytes()
    file.write_bytes(data[:len(data) // 2])


def tamper(file):
    data = bytearray(file.read_bytes())
    data[-3] ^= 0xFF
    file.write_bytes(bytes(data))


@pytest.mark.parametrize("breakage, reason", [
    (truncate, "truncated"),
    (tamper, "do not match the checksum"),
    ("features", "differ from version 1's"),
])
def test_a_broken_version_is_refused_and_the_old_one_keeps_serving(repo, apps, caplog,
                                                                   breakage, reason):
    publish(repo, 1)
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    if breakage == "features":
        publish(repo, 2, features=5)
    else:
        publish(repo, 2)
        breakage(repo / "tiny" / "2" / "model.safetensors")
    with caplog.at_level(logging.ERROR, logger="minigrad.serve"):
        poll(app)
        poll(app)  # the same broken file: not tried, logged or counted again
    (record,) = [r for r in caplog.records if "refused" in r.getMessage()]
    assert reason in record.getMessage()
    assert metric(app, "minigrad_model_load_failures_total", model="tiny") == 1
    assert infer(app)[1] == "1"
    (entry,) = [e for e in app.repository.index() if e.get("version") == "2"]
    assert entry["state"] == "UNAVAILABLE" and reason in entry["reason"]

    # A fixed file (a new one in its place) is tried again, and served.
    fixed = repo / "tiny" / "2" / "model.safetensors"
    make_mlp(seed=2).save(fixed)
    os.utime(fixed, ns=(1, 1))  # a different modification time, whatever the clock's grain
    poll(app)
    assert infer(app)[1] == "2"
    assert [e for e in app.repository.index() if e.get("state") != "READY"] == []


def test_a_file_still_being_written_is_not_counted_as_broken(repo, apps, monkeypatch):
    publish(repo, 1)
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    (repo / "tiny" / "2").mkdir()
    file = repo / "tiny" / "2" / "model.safetensors"
    data = (repo / "tiny" / "1" / "model.safetensors").read_bytes()
    file.write_bytes(data[:100])  # a writer that does not publish atomically, midway
    import minigrad.serve.repository as repository

    real = repository.load_served

    def load_while_writing(name, version, path):
        try:
            return real(name, version, path)
        finally:
            if path.stat().st_size < len(data):
                file.write_bytes(data[:len(data) - 10])  # the writer goes on meanwhile

    monkeypatch.setattr(repository, "load_served", load_while_writing)
    poll(app)
    assert metric(app, "minigrad_model_load_failures_total", model="tiny") == 0
    assert infer(app)[1] == "1"
    monkeypatch.setattr(repository, "load_served", real)
    file.write_bytes(data)
    poll(app)
    assert infer(app)[1] == "2"


def test_hidden_and_non_numeric_folders_are_never_read(repo, apps):
    publish(repo, 1)
    (repo / "tiny" / ".incoming-2").mkdir()
    (repo / "tiny" / ".incoming-2" / "model.safetensors").write_bytes(b"half")
    (repo / "tiny" / "v3").mkdir()
    (repo / "tiny" / "\u0663").mkdir()  # an Arabic-Indic digit: not a version
    make_mlp(seed=3).save(repo / "tiny" / "\u0663" / "model.safetensors")
    (repo / "tiny" / "4").mkdir()  # being filled: no model file yet
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    assert app.models.versions("tiny") == ["1"]
    assert metric(app, "minigrad_model_load_failures_total", model="tiny") == 0


def test_a_removed_version_or_model_is_unloaded(repo, apps):
    publish(repo, 1, version=1)
    publish(repo, 2, version=2)
    publish(repo, 3, name="other")
    (repo / "tiny" / "config.json").write_text('{"version_policy": {"all": {}}}')
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    assert app.models.versions("tiny") == ["1", "2"]
    os.rename(repo / "tiny" / "2", repo / "tiny" / ".removed-2")
    os.rename(repo / "other", repo / ".other-gone")
    poll(app)
    assert app.models.versions("tiny") == ["1"] and app.models.names == ["tiny"]


def test_publish_version_numbers_versions_and_never_replaces_one(repo):
    assert publish(repo, 1) == "1"
    assert publish(repo, 2) == "2"
    assert publish(repo, 3, version=10) == "10"
    with pytest.raises(FileExistsError, match="version 2 of 'tiny' exists already"):
        publish(repo, 4, version=2)
    assert sorted(p.name for p in (repo / "tiny").iterdir()) == ["1", "10", "2"]
    with pytest.raises(ValueError, match="not a model name"):
        publish(repo, 1, name="../up")


def test_batches_never_mix_versions(repo, apps):
    publish(repo, 1)
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    first = app.models.get("tiny")
    publish(repo, 2)
    poll(app)
    assert app.models.get("tiny").batcher is not first.batcher


def test_the_cli_serves_a_polled_repository(repo, tmp_path):
    from .conftest import free_port, get, start_cli, wait_until_live

    publish(repo, 1)
    port = free_port()
    process = start_cli("--repository", repo, "--model-control-mode", "poll",
                        "--repository-poll-secs", "0.1", "--port", port, "--quiet")
    try:
        wait_until_live(f"127.0.0.1:{port}", process)
        publish(repo, 2)
        for _ in range(300):
            status, body = get(f"127.0.0.1:{port}", "/v2/models/tiny")
            if json.loads(body)["versions"] == ["2"]:
                break
            threading.Event().wait(0.05)
        assert json.loads(body)["versions"] == ["2"]
    finally:
        process.terminate()
        process.wait(20)


@pytest.mark.parametrize("argv, message", [
    ([], "give PATH"),
    (["x.safetensors", "--repository", "."], "not both"),
    (["x.safetensors", "--model-control-mode", "poll"], "need --repository"),
    (["--repository", ".", "--load-model", "a"], "--load-model is for"),
    (["--repository", ".", "--repository-poll-secs", "0"], "must be positive"),
])
def test_the_cli_refuses_contradictory_options(argv, message):
    from minigrad.serve.cli import main

    with pytest.raises(SystemExit, match=message):
        main(argv)


def test_an_onnx_version_is_swapped_in_like_a_minigrad_one(repo, apps):
    pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")
    publish(repo, 1)
    app = apps(repo, model_control_mode="poll", repository_poll_secs=3600)
    (repo / "tiny" / ".incoming-2").mkdir()
    mg.onnx.export(make_mlp(seed=2), repo / "tiny" / ".incoming-2" / "model.onnx")
    os.rename(repo / "tiny" / ".incoming-2", repo / "tiny" / "2")
    poll(app)
    status, version, output = infer(app)
    assert (status, version) == (200, "2")
    np.testing.assert_allclose(output, expected(2), rtol=1e-5, atol=1e-6)
    config = call(app, "GET", "/v2/models/tiny/config").json()
    assert (config["platform"], config["backend"]) == ("onnxruntime_onnx", "onnxruntime")
