"""The course exercises' graders (exercises/test_*.py) pass a correct solution and fail the stubs.

The reference solutions live here, not in exercises/: each test copies a grader next to a
solution in a temporary folder and runs pytest there, exactly as a student would.
"""

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

EXERCISES = Path(__file__).resolve().parents[2] / "exercises"

SOLUTIONS = {
    "swish.py": '''
        import numpy as np
        import minigrad as mg


        class Swish(mg.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                s = 1 / (1 + ctx.xp.exp(-x))
                ctx.save_for_backward(x, s)
                return x * s

            @staticmethod
            def backward(ctx, grad):
                x, s = ctx.saved
                return grad * (s + x * s * (1 - s))


        def swish(x):
            return Swish.apply(x)
    ''',
    "conv2d_im2col.py": '''
        import numpy as np


        def im2col(x, kh, kw, stride=1):
            n, h, w, c = x.shape
            oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
            cols = np.empty((n, oh, ow, kh, kw, c), dtype=x.dtype)
            for i in range(kh):
                for j in range(kw):
                    cols[:, :, :, i, j, :] = x[:, i:i + stride * oh:stride,
                                               j:j + stride * ow:stride, :]
            return cols.reshape(n * oh * ow, kh * kw * c)


        def conv2d(x, kernel, bias=None, stride=1):
            kh, kw, c, f = kernel.shape
            n, h, w, _ = x.shape
            oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
            out = im2col(x, kh, kw, stride) @ kernel.reshape(kh * kw * c, f)
            if bias is not None:
                out = out + bias
            return out.reshape(n, oh, ow, f)
    ''',
    "adam.py": '''
        import numpy as np


        def adam_update(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (np.sqrt(v_hat) + eps), m, v
    ''',
}


def grader(stub):
    return EXERCISES / f"test_{stub}"


def run_pytest(path, cwd):
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-p", "no:randomly", str(path)], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def test_every_exercise_has_a_grader_and_a_reference_solution():
    stubs = sorted(p.name for p in EXERCISES.glob("*.py")
                   if not p.name.startswith("test_") and p.name != "conftest.py")
    assert stubs == sorted(SOLUTIONS)
    for stub in stubs:
        assert grader(stub).exists()


@pytest.mark.parametrize("stub", sorted(SOLUTIONS))
def test_the_grader_passes_a_correct_solution(stub, tmp_path):
    shutil.copy(grader(stub), tmp_path)
    shutil.copy(EXERCISES / "conftest.py", tmp_path)  # the shared solution fixture
    (tmp_path / stub).write_text(textwrap.dedent(SOLUTIONS[stub]))
    result = run_pytest(tmp_path / grader(stub).name, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


@pytest.mark.parametrize("stub", sorted(SOLUTIONS))
def test_the_grader_fails_every_test_on_the_stub(stub):
    result = run_pytest(grader(stub), EXERCISES.parent)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "NotImplementedError" in result.stdout and " passed" not in result.stdout
