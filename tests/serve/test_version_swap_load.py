"""benchmarks/version_swap_load.py in small: 8 clients while 3 versions (and a broken one) are
published into a polled repository; no request fails and every answer is its version's."""

import numpy as np

from .conftest import requires_serve_extra

requires_serve_extra()

from benchmarks import version_swap_load  # noqa: E402


def test_no_request_fails_and_every_answer_comes_from_the_version_it_names():
    summary = version_swap_load.run(clients=8, versions=3, interval=0.5, poll_secs=0.1,
                                    broken=1, features=8, verbose=False, time_limit=60)
    assert summary["failed"] == 0 and summary["wrong"] == 0, summary
    assert summary["versions_published"] == 3 and summary["broken_published"] == 1
    assert summary["unanswered_versions"] == [] and summary["answered_broken_versions"] == []
    assert summary["load_failures"] == 1 and summary["loads"] == 4
    assert summary["served_at_end"] == ["5"] and summary["server_exit_status"] == 0
    assert summary["requests"] > 100 and summary["ok"]


def test_the_check_catches_wrong_and_mislabelled_answers():
    rng = np.random.default_rng(0)
    expected = {"1": rng.random((6, 3)), "2": rng.random((6, 3))}
    right = (0, 2, 200, "1", expected["1"][0:2], 0.0)
    mislabelled = (1, 2, 200, "1", expected["2"][1:3], 0.0)
    garbage = (2, 1, 200, "2", np.zeros((1, 3)), 0.0)
    unknown_version = (0, 1, 200, "7", expected["1"][0:1], 0.0)
    failed = (0, 1, 503, None, b"", 0.0)
    wrong, mislabelled_count, counts = version_swap_load.check(
        [right, mislabelled, garbage, unknown_version, failed], expected)
    assert (wrong, mislabelled_count) == (3, 2)
    assert counts == {"1": 2, "2": 1, "7": 1}
