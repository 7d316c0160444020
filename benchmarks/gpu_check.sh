#!/usr/bin/env bash
# The first check of minigrad on a real GPU (issue 20): one script, run on a lent GPU machine,
# that installs nothing, imports minigrad from this working tree and, within 8 minutes,
#
#   env    records the GPU, the driver, CUDA, CuPy, PyTorch and the Python packages, checks that
#          minigrad is the working tree's and that it can use the GPU, and compiles every kernel
#          file of minigrad/backends/cuda_kernels/                           -> env.txt
#   tests  runs the cuda half of the test suite: pytest -k cuda --maxfail=20, a per-test timeout
#          where pytest-timeout is installed, workers where pytest-xdist is -> tests.log and
#                                                                             tests-junit.xml
#   bench  runs python -m benchmarks.run --device cuda, one process per benchmark so that one
#          failure does not hide the others' figures                        -> bench.log
#
# and writes summary.txt: each step's status (PASS, FAIL, TIMEOUT or SKIPPED), exit status,
# seconds and limit, the key versions, the test counts and failures, and each benchmark's lines.
# Five files in all, flat, in the folder given as the first argument (created if missing):
# what the device tool brings back from $OUT. Through that tool:
#
#     bash benchmarks/gpu_check.sh "$OUT"          (with timeout_s about 540)
#
# Each step runs under coreutils `timeout` (SIGINT at its limit, so pytest and Python print where
# they were and write their reports, SIGKILL GRACE seconds later), so a hang costs only that
# step's time, and the steps' limits are capped by a total budget. Exit status: 0 when every
# step passed; 1 otherwise (all logs written); 2 for a usage error; 130 when interrupted
# (summary.txt still written).
#
# Knobs (environment variables; the defaults fit the 8 minutes; a step whose limit is 0 is
# skipped):
#   GPU_CHECK_PYTHON              the Python to use                              (python3)
#   GPU_CHECK_TOTAL_TIMEOUT       budget of the whole check, seconds             (470)
#   GPU_CHECK_GRACE               seconds from a limit's SIGINT to its SIGKILL   (10)
#   GPU_CHECK_ENV_TIMEOUT         limit of the env step                          (60)
#   GPU_CHECK_REQUIRE_GPU         0: a missing GPU does not fail the env step    (1)
#   GPU_CHECK_TESTS_TIMEOUT       limit of the tests step                        (240)
#   GPU_CHECK_TEST_TIMEOUT        per-test limit, where pytest-timeout is        (60)
#   GPU_CHECK_TEST_EXPR           pytest's -k expression                         (cuda)
#   GPU_CHECK_MAXFAIL             pytest's --maxfail                             (20)
#   GPU_CHECK_TEST_WORKERS        pytest-xdist workers, where it is; 0: none     (4)
#   GPU_CHECK_PYTEST_ARGS         more pytest arguments, split on spaces (e.g. test paths)
#   GPU_CHECK_BENCH_TIMEOUT       limit of the bench step                        (150)
#   GPU_CHECK_BENCH_EACH_TIMEOUT  limit of one benchmark                         (60)
#   GPU_CHECK_BENCH_NAMES         benchmarks to run, split on spaces; set but empty: one run
#                                 of them all                     (each that runs on cuda)
#   GPU_CHECK_BENCH_ARGS          more benchmarks.run arguments (e.g. --threads 8)
#   GPU_CHECK_BENCH_CMD           a bash command run as the bench step instead (for testing)

set -u

usage() {
    cat <<'EOF'
usage: bash benchmarks/gpu_check.sh OUT_DIR

Checks minigrad on this machine's GPU: versions (env.txt), the cuda tests (tests.log,
tests-junit.xml), the GPU benchmarks (bench.log), and a summary (summary.txt), all written to
OUT_DIR (created if missing). Runnable from any directory; installs nothing. Exit status 0 when
every step passed, 1 otherwise, 2 for a usage error. The GPU_CHECK_* environment variables
described at the top of this script adjust the steps and their time limits.
EOF
}

if [ $# -lt 1 ] || [ -z "$1" ]; then
    echo "gpu_check.sh: missing OUT_DIR, the folder for the logs" >&2
    usage >&2
    exit 2
fi
case "$1" in
    -h | --help) usage; exit 0 ;;
esac
if [ $# -gt 1 ]; then
    echo "gpu_check.sh: one argument expected (OUT_DIR), got $#" >&2
    usage >&2
    exit 2
fi
if ! command -v timeout >/dev/null 2>&1; then
    echo "gpu_check.sh: needs coreutils' timeout" >&2
    exit 2
fi

# Knobs, checked before anything runs.
PYTHON=${GPU_CHECK_PYTHON:-python3}
TOTAL=${GPU_CHECK_TOTAL_TIMEOUT:-470}
GRACE=${GPU_CHECK_GRACE:-10}
ENV_LIMIT=${GPU_CHECK_ENV_TIMEOUT:-60}
REQUIRE_GPU=${GPU_CHECK_REQUIRE_GPU:-1}
TESTS_LIMIT=${GPU_CHECK_TESTS_TIMEOUT:-240}
TEST_LIMIT=${GPU_CHECK_TEST_TIMEOUT:-60}
TEST_EXPR=${GPU_CHECK_TEST_EXPR:-cuda}
MAXFAIL=${GPU_CHECK_MAXFAIL:-20}
WORKERS=${GPU_CHECK_TEST_WORKERS:-4}
BENCH_LIMIT=${GPU_CHECK_BENCH_TIMEOUT:-150}
BENCH_EACH_LIMIT=${GPU_CHECK_BENCH_EACH_TIMEOUT:-60}
BENCH_CMD=${GPU_CHECK_BENCH_CMD:-}
read -r -a PYTEST_EXTRA <<<"${GPU_CHECK_PYTEST_ARGS:-}"
read -r -a BENCH_EXTRA <<<"${GPU_CHECK_BENCH_ARGS:-}"
for pair in TOTAL_TIMEOUT:TOTAL GRACE:GRACE ENV_TIMEOUT:ENV_LIMIT REQUIRE_GPU:REQUIRE_GPU \
            TESTS_TIMEOUT:TESTS_LIMIT TEST_TIMEOUT:TEST_LIMIT MAXFAIL:MAXFAIL \
            TEST_WORKERS:WORKERS BENCH_TIMEOUT:BENCH_LIMIT BENCH_EACH_TIMEOUT:BENCH_EACH_LIMIT; do
    knob=${pair#*:}
    case "${!knob}" in
        '' | *[!0-9]*)
            echo "gpu_check.sh: GPU_CHECK_${pair%%:*} must be a whole number (seconds or a" \
                 "count), not '${!knob}'" >&2
            exit 2 ;;
    esac
done

OUT_DIR=$1
if ! mkdir -p -- "$OUT_DIR" || [ ! -w "$OUT_DIR" ]; then
    echo "gpu_check.sh: cannot create or write the folder '$OUT_DIR'" >&2
    exit 2
fi
OUT_DIR=$(cd -- "$OUT_DIR" && pwd -P)
REPO=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd -- "$REPO" || exit 2
# The working tree's minigrad (and benchmarks, tests), whatever is installed.
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export MPLBACKEND=Agg

ENV_LOG=$OUT_DIR/env.txt
TESTS_LOG=$OUT_DIR/tests.log
JUNIT=$OUT_DIR/tests-junit.xml
BENCH_LOG=$OUT_DIR/bench.log
SUMMARY=$OUT_DIR/summary.txt
rm -f -- "$ENV_LOG" "$TESTS_LOG" "$JUNIT" "$BENCH_LOG" "$SUMMARY"

START=$(date +%s)
STARTED_AT=$(date -u +%Y-%m-%dT%H:%M:%SZ)
STEP_ROWS=()     # one line per step for summary.txt
FAILED_STEPS=0
INTERRUPTED=0
CHILD=
SHOWN_AS=        # how run_limited shows its command in the log, when set

say() { echo "[gpu_check $(date -u +%H:%M:%S)] $*"; }
now() { date +%s; }
min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }

# The seconds a command started now may run: at most $1, and within the total budget
# (leaving GRACE for its SIGKILL and a few seconds for the summary). 0: no time left.
budget() {
    local left=$((TOTAL - ($(now) - START) - GRACE - 3))
    local limit
    limit=$(min "$1" "$left")
    if [ "$limit" -lt 1 ]; then limit=0; fi
    echo "$limit"
}

# shellcheck disable=SC2317  # run by the trap below
on_signal() {
    INTERRUPTED=1
    # timeout passes the SIGINT on, so pytest still writes its report.
    if [ -n "$CHILD" ]; then kill -INT "$CHILD" 2>/dev/null; fi
}
trap on_signal INT TERM HUP

# run_limited LIMIT LOG COMMAND...: run COMMAND with its output appended to LOG, under
# `timeout LIMIT`; sets RC (its exit status, 124 or 137 when stopped at the limit), SECS and
# TIMED_OUT (1 or 0). The log shows the command as $SHOWN_AS where that is set.
run_limited() {
    local limit=$1 log=$2 began
    shift 2
    printf '$ %s   [limit %s s]\n' "${SHOWN_AS:-$*}" "$limit" >>"$log"
    began=$(now)
    timeout -s INT -k "$GRACE" "$limit" "$@" >>"$log" 2>&1 </dev/null &
    CHILD=$!
    while :; do
        wait "$CHILD"
        RC=$?
        if ! kill -0 "$CHILD" 2>/dev/null; then break; fi
    done
    CHILD=
    SECS=$(($(now) - began))
    TIMED_OUT=0
    if [ "$RC" -eq 124 ] || { [ "$RC" -eq 137 ] && [ "$SECS" -ge "$limit" ]; }; then
        TIMED_OUT=1
        printf '!!! stopped at its time limit of %s s (exit status %s)\n' "$limit" "$RC" >>"$log"
    fi
    printf '# exit status %s after %s s\n\n' "$RC" "$SECS" >>"$log"
}

# record NAME STATUS RC SECS LIMIT LOGS: one row of the summary's table.
record() {
    STEP_ROWS+=("$(printf '%-6s %-11s %5s %8s %6s   %s' "$@")")
    if [ "$2" != PASS ]; then FAILED_STEPS=$((FAILED_STEPS + 1)); fi
    if [ "$2" = SKIPPED ]; then say "$1: SKIPPED"
    else say "$1: $2 (exit status $3, $4 s of $5 s)"
    fi
}

status_of() {  # status_of RC TIMED_OUT
    if [ "$INTERRUPTED" -eq 1 ]; then echo INTERRUPTED
    elif [ "$2" -eq 1 ]; then echo TIMEOUT
    elif [ "$1" -eq 0 ]; then echo PASS
    else echo FAIL
    fi
}

skip_step() {  # skip_step NAME LIMIT LOG: the step gets no time (its limit is 0, or none is left)
    local why="no time left in the budget of $TOTAL s"
    if [ "$2" -eq 0 ]; then why="its time limit is 0"; fi
    echo "skipped: $why" >>"$3"
    record "$1" SKIPPED - 0 "$2" "$(basename "$3")"
}

# ---------------------------------------------------------------------------------------------
# env: versions, and whether minigrad (the working tree's) can use the GPU.

ENV_PY=$(cat <<'PY'
import importlib, importlib.metadata as md, os, platform, sys, time, traceback

repo = os.path.realpath(sys.argv[1])
require_gpu = sys.argv[2] != "0"
failures = []

def fact(name, value):
    print(f"- {name}: {value}", flush=True)

def check(name, ok, detail="", required=True):
    state = "ok" if ok else ("FAIL" if required else "not ok (not required)")
    fact(f"check {name}", state + (f": {detail}" if detail else ""))
    if required and not ok:
        failures.append(name)

def short(exc):
    text = f"{type(exc).__name__}: {exc}".strip().replace("\n", " ")
    return text if len(text) <= 300 else text[:297] + "..."

fact("python", f"{platform.python_version()} at {sys.executable}")
dists = {d.metadata["Name"].lower(): d.version for d in md.distributions() if d.metadata["Name"]}
for name in ("numpy", "numba", "torch", "safetensors", "tqdm", "threadpoolctl", "pytest",
             "pytest-timeout", "pytest-xdist", "hypothesis"):
    fact(f"package {name}", dists.get(name, "not installed"))
cupy_dists = sorted(f"{k} {v}" for k, v in dists.items() if k.startswith("cupy"))
fact("package cupy", ", ".join(cupy_dists) or "not installed")

try:
    import minigrad
    path = os.path.realpath(minigrad.__file__)
    fact("minigrad", f"{minigrad.__version__} from {path}")
    check("minigrad-from-tree", path.startswith(repo + os.sep),
          f"imported from {path}, the working tree is {repo}")
except Exception as exc:
    minigrad = None
    check("minigrad-from-tree", False, "import minigrad failed: " + short(exc))
    traceback.print_exc(file=sys.stdout)

try:
    import torch
    fact("torch", f"{torch.__version__}, built for CUDA {torch.version.cuda}, "
         f"cuda available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        fact("torch gpu", f"{torch.cuda.get_device_name()}, cuDNN "
             f"{torch.backends.cudnn.version()}")
except Exception as exc:
    fact("torch", "not importable: " + short(exc))

gpu_ok = False
try:
    import cupy
    rt = cupy.cuda.runtime
    fact("cupy", f"{cupy.__version__}, CUDA runtime {rt.runtimeGetVersion()}, "
         f"driver supports CUDA {rt.driverGetVersion()}, NVRTC "
         f"{cupy.cuda.nvrtc.getVersion()}")
    count = rt.getDeviceCount()
    fact("cupy devices", count)
    for index in range(count):
        props = rt.getDeviceProperties(index)
        name = props["name"]
        name = name.decode() if isinstance(name, bytes) else name
        fact(f"gpu {index}", "{}, compute capability {}.{}, {:.1f} GiB, {} SMs".format(
            name, props["major"], props["minor"], props["totalGlobalMem"] / 2**30,
            props["multiProcessorCount"]))
except Exception as exc:
    fact("cupy", "not usable: " + short(exc))

if minigrad is not None:
    why = ""
    try:
        from minigrad.backends import cuda as cuda_backend
        cuda_backend._import_cupy()
    except Exception as exc:
        why = short(exc)
    gpu_ok = minigrad.cuda.is_available()
    if gpu_ok:
        check("gpu", True, "mg.cuda.is_available() is True")
    else:
        check("gpu", False, "no GPU for minigrad: " + (why or "mg.cuda.is_available() is False"),
              required=require_gpu)

if gpu_ok:
    def first_steps(device):
        x = minigrad.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
        loss = (x @ x).sum()
        loss.backward()
        return loss.item(), x.grad.numpy().tolist()

    try:
        on_cpu, on_gpu = first_steps("cpu"), first_steps("cuda")
        check("first-steps", on_gpu == on_cpu,
              f"sum(x @ x) and its gradient: {on_gpu} on cuda, {on_cpu} on the cpu")
    except Exception as exc:
        check("first-steps", False, short(exc))
        traceback.print_exc(file=sys.stdout)
    try:
        from minigrad.backends.cuda import KERNEL_DIR, _module
    except Exception as exc:
        check("kernels-compile", False, "cannot find the kernel loader: " + short(exc))
    else:
        bad = []
        for path in sorted(KERNEL_DIR.glob("*.cu")):
            began = time.perf_counter()
            try:
                _module(path.name).compile()
                fact(f"kernel {path.name}", f"compiled in {time.perf_counter() - began:.1f} s")
            except Exception as exc:
                bad.append(path.name)
                fact(f"kernel {path.name}", "FAILED: " + short(exc))
                print(str(exc), flush=True)
        check("kernels-compile", not bad, ("failed: " + ", ".join(bad)) if bad else
              "every file of minigrad/backends/cuda_kernels")
else:
    fact("check kernels-compile", "skipped (no GPU)")

print(f"{len(failures)} failed check(s)" + (": " + ", ".join(failures) if failures else ""))
sys.exit(1 if failures else 0)
PY
)

env_step() {
    local step_start limit rc=0 timed_out=0
    step_start=$(now)
    limit=$(budget "$ENV_LIMIT")
    if [ "$limit" -eq 0 ]; then skip_step env "$ENV_LIMIT" "$ENV_LOG"; return; fi
    {
        echo "minigrad GPU check, $STARTED_AT"
        echo "- host: $(uname -srm), $(nproc) CPUs"
        echo "- repo: $REPO"
        if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
            echo "- commit: $(git -C "$REPO" log -1 --format='%H %cd %s' --date=iso 2>&1 |
                cut -c 1-150)"
            echo "- uncommitted changes: $(git -C "$REPO" status --porcelain 2>/dev/null | wc -l)"
        else
            echo "- commit: not a git checkout (the device tool sends the files without .git)"
        fi
        echo "- PYTHONPATH: $PYTHONPATH"
        echo "- CUDA_VISIBLE_DEVICES: ${CUDA_VISIBLE_DEVICES-(unset)}"
        echo "- python command: $(command -v "$PYTHON" || echo "$PYTHON not found")"
    } >>"$ENV_LOG"
    if command -v nvidia-smi >/dev/null 2>&1; then
        local gpus
        gpus=$(timeout -k 2 "$(min 20 "$limit")" nvidia-smi --format=csv,noheader \
            --query-gpu=name,driver_version,memory.total,compute_cap 2>&1)
        rc=$?
        if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then timed_out=1; fi
        while IFS= read -r line; do
            echo "- nvidia-smi (name, driver, memory, compute capability): $line"
        done <<<"$gpus" >>"$ENV_LOG"
        run_limited "$(min 20 "$limit")" "$ENV_LOG" nvidia-smi
        [ "$TIMED_OUT" -eq 1 ] && timed_out=1
        if [ "$rc" -ne 0 ] && [ "$REQUIRE_GPU" -ne 0 ]; then
            echo "- check nvidia-smi: FAIL: exit status $rc" >>"$ENV_LOG"
        else
            echo "- check nvidia-smi: ok" >>"$ENV_LOG"
            rc=0
        fi
    else
        echo "- nvidia-smi: not found: no NVIDIA driver on this machine (no GPU)" >>"$ENV_LOG"
        if [ "$REQUIRE_GPU" -ne 0 ]; then rc=1; fi
    fi
    if command -v nvcc >/dev/null 2>&1; then
        run_limited "$(min 10 "$limit")" "$ENV_LOG" nvcc --version
        [ "$TIMED_OUT" -eq 1 ] && timed_out=1
        local release
        release=$(grep -m 1 '^Cuda compilation tools' "$ENV_LOG")
        if [ -n "$release" ]; then echo "- nvcc: $release" >>"$ENV_LOG"; fi
    else
        echo "- nvcc: not found" >>"$ENV_LOG"
    fi
    limit=$(min "$limit" $((ENV_LIMIT - ($(now) - step_start))))
    limit=$(budget "$limit")
    if [ "$limit" -gt 0 ]; then
        SHOWN_AS="$PYTHON -c <the Python checks in gpu_check.sh> $REPO $REQUIRE_GPU" \
            run_limited "$limit" "$ENV_LOG" "$PYTHON" -c "$ENV_PY" "$REPO" "$REQUIRE_GPU"
        [ "$TIMED_OUT" -eq 1 ] && timed_out=1
        [ "$RC" -ne 0 ] && rc=$RC
    else
        echo "!!! no time left for the Python checks" >>"$ENV_LOG"
        timed_out=1
    fi
    record env "$(status_of "$rc" "$timed_out")" "$rc" $(($(now) - step_start)) "$ENV_LIMIT" \
        env.txt
}

# ---------------------------------------------------------------------------------------------
# tests: the cuda half of the suite.

TESTS_NOTE=
TESTS_CMD=
tests_step() {
    local limit args=()
    limit=$(budget "$TESTS_LIMIT")
    if [ "$limit" -eq 0 ]; then
        skip_step tests "$TESTS_LIMIT" "$TESTS_LOG"; return
    fi
    args=(-m pytest -k "$TEST_EXPR" --maxfail="$MAXFAIL" -v -rfEsx --durations=25
          -p no:cacheprovider --junitxml="$JUNIT")
    local per_test="pytest-timeout is not installed: no per-test limit, only the step's $limit s"
    if "$PYTHON" -c "import pytest_timeout" >/dev/null 2>&1; then
        args+=(--timeout="$TEST_LIMIT")
        per_test="per-test limit $TEST_LIMIT s (pytest-timeout)"
        # In a worker, a test stuck inside a CUDA call ends only with its process (the worker
        # is replaced); alone, the signal method keeps the run going after a slow test.
        if [ "$WORKERS" -gt 0 ]; then args+=(--timeout-method=thread); fi
    fi
    local workers="no pytest-xdist workers"
    if [ "$WORKERS" -gt 0 ]; then
        if "$PYTHON" -c "import xdist" >/dev/null 2>&1; then
            args+=(-n "$WORKERS")
            workers="$WORKERS pytest-xdist workers"
        else
            workers="pytest-xdist is not installed: one process"
        fi
    fi
    args+=("${PYTEST_EXTRA[@]}")
    TESTS_NOTE="$per_test; $workers"
    TESTS_CMD="$PYTHON ${args[*]}"
    echo "# $TESTS_NOTE" >>"$TESTS_LOG"
    run_limited "$limit" "$TESTS_LOG" "$PYTHON" "${args[@]}"
    if [ "$RC" -eq 5 ]; then echo "!!! no test was collected" >>"$TESTS_LOG"; fi
    record tests "$(status_of "$RC" "$TIMED_OUT")" "$RC" "$SECS" "$TESTS_LIMIT" \
        "tests.log, tests-junit.xml"
}

# ---------------------------------------------------------------------------------------------
# bench: python -m benchmarks.run --device cuda, a process per benchmark.

BENCH_LINES=()
bench_step() {
    local step_start limit rc=0 timed_out=0 names=() name first_line each
    step_start=$(now)
    limit=$(budget "$BENCH_LIMIT")
    if [ "$limit" -eq 0 ]; then
        skip_step bench "$BENCH_LIMIT" "$BENCH_LOG"; return
    fi
    if [ -n "$BENCH_CMD" ]; then
        run_limited "$limit" "$BENCH_LOG" bash -c "$BENCH_CMD"
        record bench "$(status_of "$RC" "$TIMED_OUT")" "$RC" "$SECS" "$BENCH_LIMIT" bench.log
        return
    fi
    if [ -n "${GPU_CHECK_BENCH_NAMES+set}" ]; then
        read -r -a names <<<"$GPU_CHECK_BENCH_NAMES"
    else
        read -r -a names <<<"$(timeout 30 "$PYTHON" -c 'from benchmarks.run import BENCHMARKS
print(" ".join(n for n, (_, devices) in BENCHMARKS.items() if "cuda" in devices))' \
            2>>"$BENCH_LOG")"
    fi
    if [ "${#names[@]}" -eq 0 ]; then
        names=("")   # could not list them: one run of them all
    fi
    for name in "${names[@]}"; do
        local label=${name:-all}
        each=$((BENCH_LIMIT - ($(now) - step_start)))
        if [ -n "$name" ]; then each=$(min "$BENCH_EACH_LIMIT" "$each"); fi
        each=$(budget "$each")
        if [ "$each" -eq 0 ] || [ "$INTERRUPTED" -eq 1 ]; then
            echo "!!! $label: not run, the bench step's time is up" >>"$BENCH_LOG"
            BENCH_LINES+=("$(printf '  %-14s %-8s' "$label" SKIPPED)")
            timed_out=1
            continue
        fi
        echo "===== benchmark $label" >>"$BENCH_LOG"
        first_line=$(($(wc -l <"$BENCH_LOG") + 1))
        # shellcheck disable=SC2086  # an empty name must vanish
        run_limited "$each" "$BENCH_LOG" "$PYTHON" -m benchmarks.run --device cuda \
            "${BENCH_EXTRA[@]}" $name
        [ "$RC" -ne 0 ] && rc=$RC
        [ "$TIMED_OUT" -eq 1 ] && timed_out=1
        BENCH_LINES+=("$(printf '  %-14s %-8s exit %3s %5s s' "$label" \
            "$(status_of "$RC" "$TIMED_OUT")" "$RC" "$SECS")")
        # Its results (all but the header lines), or the end of what it said when it failed.
        local lines
        if [ "$RC" -eq 0 ]; then
            lines=$(tail -n "+$first_line" "$BENCH_LOG" |
                grep -vE '^(\$ |# exit status|threads: |python [0-9]|GPU: )' | grep -v '^$')
        else
            lines=$(tail -n "+$first_line" "$BENCH_LOG" | grep -vE '^# exit status' |
                grep -v '^$' | tail -n 3)
        fi
        while IFS= read -r line; do
            [ -n "$line" ] && BENCH_LINES+=("      $line")
        done <<<"$lines"
    done
    record bench "$(status_of "$rc" "$timed_out")" "$rc" $(($(now) - step_start)) \
        "$BENCH_LIMIT" bench.log
}

# ---------------------------------------------------------------------------------------------
# summary.txt

JUNIT_PY=$(cat <<'PY'
import collections
import sys
import xml.etree.ElementTree as ET

try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception as exc:
    print(f"  no readable test report ({type(exc).__name__}: {exc})")
    sys.exit()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
count = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors",
                                                          "skipped")}
seconds = sum(float(s.get("time", 0)) for s in suites)
passed = count["tests"] - count["failures"] - count["errors"] - count["skipped"]
print("  {} tests: {} passed, {} failed, {} errors, {} skipped, in {:.0f} s".format(
    count["tests"], passed, count["failures"], count["errors"], count["skipped"], seconds))
bad = []
for case in root.iter("testcase"):
    for kind in ("failure", "error"):
        node = case.find(kind)
        if node is not None:
            message = (node.get("message") or "").strip().splitlines()
            where = case.get("classname", "") + "::" + case.get("name", "")
            bad.append(f"  {kind.upper()} {where}: {message[0][:160] if message else '?'}")
for line in bad[:30]:
    print(line)
if len(bad) > 30:
    print(f"  ... and {len(bad) - 30} more (tests.log, tests-junit.xml)")
reasons = collections.Counter()
for case in root.iter("testcase"):
    node = case.find("skipped")
    if node is not None:
        reason = node.get("message") or "?"
        if reason == "collection skipped" and node.text:  # a whole module: (file, line, why)
            reason = "a module: " + node.text
        reason = reason.strip().splitlines() or ["?"]
        reasons[reason[0][:200]] += 1
for reason, n in reasons.most_common(8):
    print(f"  skipped {n}: {reason}")
if len(reasons) > 8:
    print(f"  ... {len(reasons) - 8} more skip reasons (tests.log)")
PY
)

write_summary() {
    local verdict=PASS total
    if [ "$FAILED_STEPS" -gt 0 ] || [ "$INTERRUPTED" -eq 1 ]; then verdict=FAIL; fi
    total=$(($(now) - START))
    {
        echo "minigrad GPU check: $verdict ($FAILED_STEPS of ${#STEP_ROWS[@]} steps not passed)"
        echo "started $STARTED_AT, took $total s of a $TOTAL s budget"
        if [ "$INTERRUPTED" -eq 1 ]; then echo "INTERRUPTED by a signal"; fi
        echo
        printf '%-6s %-11s %5s %8s %6s   %s\n' step status exit seconds limit logs
        printf '%s\n' "${STEP_ROWS[@]}"
        echo
        echo "env (env.txt):"
        if [ -f "$ENV_LOG" ]; then grep -E '^- ' "$ENV_LOG" | sed 's/^/  /'; fi
        echo
        echo "tests (tests.log, tests-junit.xml): ${TESTS_CMD:-not run}"
        if [ -n "$TESTS_NOTE" ]; then echo "  $TESTS_NOTE"; fi
        if [ -f "$JUNIT" ]; then
            timeout 30 "$PYTHON" -c "$JUNIT_PY" "$JUNIT" 2>&1
        else
            echo "  no test report (tests-junit.xml) was written"
        fi
        echo
        if [ -n "$BENCH_CMD" ]; then
            echo "bench (bench.log): bash -c '$BENCH_CMD'"
        else
            echo "bench (bench.log): $PYTHON -m benchmarks.run --device cuda" \
                 "${BENCH_EXTRA[*]}${BENCH_EXTRA[*]:+ }NAME, for each NAME"
        fi
        if [ "${#BENCH_LINES[@]}" -gt 0 ]; then printf '%s\n' "${BENCH_LINES[@]}"; fi
    } >"$SUMMARY"
}

say "logs to $OUT_DIR; minigrad from $REPO; budget $TOTAL s"
for step in env tests bench; do
    if [ "$INTERRUPTED" -eq 1 ]; then
        record "$step" SKIPPED - 0 - "(interrupted)"
        continue
    fi
    case $step in
        env) env_step ;;
        tests) tests_step ;;
        bench) bench_step ;;
    esac
done
write_summary
cat "$SUMMARY"
if [ "$INTERRUPTED" -eq 1 ]; then exit 130; fi
if [ "$FAILED_STEPS" -gt 0 ]; then exit 1; fi
exit 0
