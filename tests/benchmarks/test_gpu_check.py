"""benchmarks/gpu_check.sh, the check run on a lent GPU machine (issue 20), exercised here without
a GPU: its arguments, the few flat files it leaves for the device tool to bring back, its
summary and exit status, the time limits of its steps, the env step's report of a missing GPU
(and of a GPU, with a stand-in CuPy), and that it installs nothing. Each run of the script is
made small through its GPU_CHECK_* knobs; the whole file takes about half a minute."""

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree

import pytest

import minigrad as mg

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_check.sh"
LOGS = {"env.txt", "tests.log", "tests-junit.xml", "bench.log", "summary.txt"}
# What the device tool brings back from $OUT: at most 8 files of at most 16 MiB, no deeper than
# two folders, each named with letters, digits, '.', '_' and '-' alone.
DEVICE_TOOL_NAME = re.compile(r"[A-Za-z0-9._-]+")
NO_GPU = pytest.mark.skipif(mg.cuda.is_available(), reason="a GPU is usable here: these runs "
                                                           "expect the env step to find none")

pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None,
                                reason="needs bash and coreutils' timeout")

PASSING_TESTS = """
def test_cuda_passes():
    pass
"""

FAILING_TESTS = """
import pytest

def test_cuda_passes():
    pass

@pytest.mark.parametrize("i", range(4))
def test_cuda_fails(i):
    assert i < 0, f"failure number {i}"

def test_not_selected_by_the_expression():
    assert False
"""

SLOW_TESTS = """
import time
from pathlib import Path

def test_cuda_hangs():
    Path(__file__).with_name("started").touch()
    time.sleep(60)
"""

# Stand-ins for CuPy and nvidia-smi. The CuPy sees one GPU and compiles every kernel file but
# scatter_add.cu; it can do nothing else, so minigrad's first steps on "cuda" fail.
FAKE_CUPY = '''
import types

__version__ = "0.0-stand-in"


class RawModule:
    def __init__(self, code, options=()):
        self.code = code

    def compile(self):
        if "scatter" in self.code:
            raise RuntimeError("stand-in NVRTC error")


def _properties(index):
    return {"name": b"Stand-in GPU", "major": 9, "minor": 0, "totalGlobalMem": 80 * 2**30,
            "multiProcessorCount": 132}


cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1, runtimeGetVersion=lambda: 13000,
                                  driverGetVersion=lambda: 13000,
                                  getDeviceProperties=_properties),
    nvrtc=types.SimpleNamespace(getVersion=lambda: (13, 0)))
'''


FAKE_NVIDIA_SMI = """#!/bin/sh
case "$*" in
    *query-gpu*) echo "Stand-in GPU, 580.1, 81559 MiB, 9.0" ;;
    *) echo "the stand-in nvidia-smi's table" ;;
esac
"""


def run_check(args, cwd, pythonpath=None, path=None, **knobs):
    """Run the script with GPU_CHECK_<knob> set for each keyword; (process, seconds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GPU_CHECK_", "PYTEST_"))}
    env.update(GPU_CHECK_PYTHON=sys.executable, GPU_CHECK_TEST_WORKERS="0", GPU_CHECK_GRACE="2")
    env.update({f"GPU_CHECK_{name}": str(value) for name, value in knobs.items()})
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    if path:
        env["PATH"] = path
    start = time.monotonic()
    process = subprocess.run(["bash", str(SCRIPT), *map(str, args)], cwd=cwd, env=env,
                             capture_output=True, text=True, timeout=180)
    return process, time.monotonic() - start


def steps(summary):
    """{step: (status, exit status)} from the table in summary.txt."""
    rows = re.findall(r"^(env|tests|bench)\s+([A-Z]+)\s+(\S+)\s+\d+\s+\S+\s", summary, re.M)
    return {name: (status, code) for name, status, code in rows}


def assert_device_tool_layout(out, expected=LOGS):
    entries = list(out.rglob("*"))
    assert all(entry.is_file() for entry in entries), "the logs are flat: no folders"
    assert {entry.name for entry in entries} == expected
    assert len(entries) <= 8
    for entry in entries:
        assert DEVICE_TOOL_NAME.fullmatch(entry.name)
        assert entry.stat().st_size <= 16 * 2**20


class Run:
    def __init__(self, out, process, seconds):
        self.out, self.process, self.seconds = out, process, seconds
        self.summary = (out / "summary.txt").read_text()
        self.steps = steps(self.summary)

    def log(self, name):
        return (self.out / name).read_text()


@pytest.fixture(scope="module")
def passing(tmp_path_factory):
    """Every step passes: no GPU required, the emulated kernel test of the backend contract,
    and a bench command that says where it ran; from another folder, into a new one."""
    cwd = tmp_path_factory.mktemp("elsewhere")
    out = cwd / "new" / "results"
    process, seconds = run_check(
        [out], cwd, REQUIRE_GPU=0, TEST_WORKERS=2,
        PYTEST_ARGS="tests/backends/test_backend_contract.py",
        BENCH_CMD='echo "bench ran in $PWD"')
    return Run(out, process, seconds)


@pytest.fixture(scope="module")
def failing(tmp_path_factory):
    """The default env step (a GPU required), tests of which four fail (--maxfail=2), and the
    real benchmark runner asked for the mlp on cuda."""
    cwd = tmp_path_factory.mktemp("failing")
    (cwd / "test_cuda_failing.py").write_text(FAILING_TESTS)
    out = cwd / "out"
    process, seconds = run_check([out], cwd, MAXFAIL=2, PYTEST_ARGS=cwd / "test_cuda_failing.py",
                                 BENCH_NAMES="mlp")
    return Run(out, process, seconds)


@pytest.fixture(scope="module")
def hanging(tmp_path_factory):
    """A test that hangs past the tests step's 5 s and a bench command that sleeps past its 2 s."""
    cwd = tmp_path_factory.mktemp("hanging")
    (cwd / "test_cuda_hanging.py").write_text(SLOW_TESTS)
    out = cwd / "out"
    process, seconds = run_check([out], cwd, REQUIRE_GPU=0,
                                 PYTEST_ARGS=cwd / "test_cuda_hanging.py", TESTS_TIMEOUT=5,
                                 BENCH_CMD="echo bench started; sleep 60", BENCH_TIMEOUT=2)
    run = Run(out, process, seconds)
    run.test_started = (cwd / "started").exists()
    return run


# -- arguments -------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], [""], ["a", "b"]], ids=["none", "empty", "two"])
def test_without_one_folder_it_prints_its_usage_and_exits_2(tmp_path, args):
    process, _ = run_check(args, tmp_path)
    assert process.returncode == 2
    assert "usage: bash benchmarks/gpu_check.sh OUT_DIR" in process.stderr
    assert list(tmp_path.iterdir()) == []


def test_help_prints_the_usage_and_exits_0(tmp_path):
    process, _ = run_check(["--help"], tmp_path)
    assert process.returncode == 0 and process.stdout.startswith("usage:")


def test_a_folder_it_cannot_create_is_a_usage_error(tmp_path):
    (tmp_path / "a-file").write_text("")
    process, _ = run_check([tmp_path / "a-file" / "out"], tmp_path)
    assert process.returncode == 2 and "cannot create" in process.stderr


def test_a_knob_that_is_not_a_number_is_refused_before_anything_runs(tmp_path):
    process, _ = run_check([tmp_path / "out"], tmp_path, TESTS_TIMEOUT="4m")
    assert process.returncode == 2
    assert "GPU_CHECK_TESTS_TIMEOUT must be a whole number" in process.stderr
    assert not (tmp_path / "out").exists()


# -- a run where every step passes ------------------------------------------------------------

def test_when_every_step_passes_it_exits_0_with_five_flat_files(passing):
    assert passing.process.returncode == 0, passing.summary
    assert passing.steps == {"env": ("PASS", "0"), "tests": ("PASS", "0"),
                             "bench": ("PASS", "0")}
    assert passing.summary.startswith("minigrad GPU check: PASS")
    assert_device_tool_layout(passing.out)
    assert passing.summary in passing.process.stdout  # the device tool's output tail shows it


def test_it_runs_in_the_repository_with_the_working_trees_minigrad(passing):
    assert f"bench ran in {REPO}" in passing.log("bench.log")
    assert f"- check minigrad-from-tree: ok: imported from {REPO / 'minigrad'}" in \
        passing.log("env.txt")
    assert f"- PYTHONPATH: {REPO}" in passing.log("env.txt")


def test_the_tests_step_runs_pytest_k_cuda_and_keeps_its_report(passing):
    tests_log = passing.log("tests.log")
    command = next(line for line in tests_log.splitlines() if line.startswith("$ "))
    assert "-m pytest -k cuda --maxfail=20" in command
    assert f"--junitxml={passing.out / 'tests-junit.xml'}" in command
    # the emulation path: the CUDA backend's kernels compiled by g++ where it is installed
    cases = {case.get("name"): case for case in
             ElementTree.parse(passing.out / "tests-junit.xml").getroot().iter("testcase")}
    emulated = cases["test_the_cuda_backend_under_test_runs_the_cuda_class_kernels[emulated]"]
    if shutil.which("g++"):
        assert len(emulated) == 0  # no failure, error or skipped element: it passed
    assert re.search(r"\d+ tests: \d+ passed, 0 failed, 0 errors", passing.summary)
    if importlib.util.find_spec("pytest_timeout") is None:
        assert "pytest-timeout is not installed" in passing.summary
        assert "--timeout" not in command
    else:
        assert "--timeout=60" in command


@NO_GPU
def test_without_a_gpu_the_env_step_says_so(passing):
    env = passing.log("env.txt")
    assert "- check gpu: not ok (not required): no GPU for minigrad:" in env
    assert "- check kernels-compile: skipped (no GPU)" in env
    assert re.search(r"^- package cupy: ", env, re.M)
    assert "- check gpu:" in passing.summary


# -- failures ---------------------------------------------------------------------------------

@NO_GPU
def test_failures_give_exit_1_and_a_summary_that_names_them(failing):
    assert failing.process.returncode == 1
    assert failing.summary.startswith("minigrad GPU check: FAIL (3 of 3 steps not passed)")
    assert failing.steps["env"] == ("FAIL", "1")
    assert "- check gpu: FAIL: no GPU for minigrad:" in failing.summary
    assert failing.steps["tests"] == ("FAIL", "1")
    assert "--maxfail=2" in failing.summary
    assert "3 tests: 1 passed, 2 failed, 0 errors, 0 skipped" in failing.summary
    assert re.search(r"^  FAILURE \S*test_cuda_failing::test_cuda_fails\[0\]: "
                     r"AssertionError: failure number 0$", failing.summary, re.M)
    assert "test_not_selected" not in failing.log("tests.log")
    assert failing.steps["bench"][0] == "FAIL"
    assert re.search(r"^  mlp +FAIL", failing.summary, re.M)
    assert "-m benchmarks.run --device cuda mlp" in failing.log("bench.log")
    if importlib.util.find_spec("torch") and importlib.util.find_spec("threadpoolctl"):
        assert "minigrad cannot use a GPU" in failing.summary
    assert_device_tool_layout(failing.out)


# -- time limits ------------------------------------------------------------------------------

def test_a_step_past_its_limit_is_stopped_and_the_next_step_still_runs(hanging):
    assert hanging.process.returncode == 1
    assert hanging.seconds < 45  # not the 60 s that each hang would take
    assert hanging.steps["tests"] == ("TIMEOUT", "124")
    assert "!!! stopped at its time limit of 5 s" in hanging.log("tests.log")
    if hanging.test_started:  # (not so on a machine too busy to start pytest in 5 s)
        # stopped with SIGINT first: the log shows where Python was (pytest's
        # "test_cuda_hanging.py:N: KeyboardInterrupt" as a rule; on a busy machine CI once saw
        # the limit fall inside a library call, with Python's own traceback instead)
        log = hanging.log("tests.log")
        assert re.search(r"\.py:\d+: KeyboardInterrupt|\nKeyboardInterrupt", log)
    assert "bench started" in hanging.log("bench.log")
    assert hanging.steps["bench"] == ("TIMEOUT", "124")
    assert_device_tool_layout(hanging.out)


def test_steps_left_without_time_in_the_budget_are_skipped(tmp_path):
    process, seconds = run_check([tmp_path / "out"], tmp_path, TOTAL_TIMEOUT=0)
    assert process.returncode == 1 and seconds < 10
    summary = (tmp_path / "out" / "summary.txt").read_text()
    assert steps(summary) == {"env": ("SKIPPED", "-"), "tests": ("SKIPPED", "-"),
                              "bench": ("SKIPPED", "-")}
    assert "skipped: no time left in the budget of 0 s" in \
        (tmp_path / "out" / "tests.log").read_text()
    assert_device_tool_layout(tmp_path / "out", LOGS - {"tests-junit.xml"})


# -- the env step with a GPU (a stand-in CuPy) ------------------------------------------------

def test_with_a_gpu_the_env_step_reports_it_and_compiles_each_kernel_file(tmp_path):
    (tmp_path / "cupy").mkdir()
    (tmp_path / "cupy" / "__init__.py").write_text(FAKE_CUPY)
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (tmp_path / "bin" / "nvidia-smi").chmod(0o755)
    out = tmp_path / "out"
    process, _ = run_check([out], tmp_path, pythonpath=tmp_path,
                           path=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}",
                           TESTS_TIMEOUT=0, BENCH_TIMEOUT=0)
    assert process.returncode == 1
    summary = (out / "summary.txt").read_text()
    assert steps(summary) == {"env": ("FAIL", "1"), "tests": ("SKIPPED", "-"),
                              "bench": ("SKIPPED", "-")}
    assert "skipped: its time limit is 0" in (out / "bench.log").read_text()
    assert "- nvidia-smi (name, driver, memory, compute capability): Stand-in GPU, 580.1, " \
        "81559 MiB, 9.0" in summary
    assert "- check nvidia-smi: ok" in summary
    assert "- gpu 0: Stand-in GPU, compute capability 9.0, 80.0 GiB, 132 SMs" in summary
    assert "- check gpu: ok" in summary
    assert "- check first-steps: FAIL" in summary  # the stand-in cannot make an array
    assert re.search(r"- kernel conv\.cu: compiled in \d", summary)
    assert "- kernel scatter_add.cu: FAILED: RuntimeError: stand-in NVRTC error" in summary
    assert "- check kernels-compile: FAIL: failed: scatter_add.cu" in summary


# -- the script itself ------------------------------------------------------------------------

def test_the_script_is_valid_bash_and_executable():
    assert os.access(SCRIPT, os.X_OK)
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed")
def test_shellcheck_finds_nothing():
    process = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True)
    assert process.returncode == 0, process.stdout


def test_the_script_installs_nothing():
    installs = re.compile(r"\b(pip3?|uv|conda|mamba|easy_install)\b.*\binstall\b|"
                          r"\bapt(-get)?\b|\bcurl\b|\bwget\b|--index-url")
    found = [line for line in SCRIPT.read_text().splitlines() if installs.search(line)]
    assert found == []
