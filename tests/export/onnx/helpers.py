"""What the ONNX export tests share: random weights, and the check that an exported model is
valid ONNX and that onnxruntime gives what ``model.predict`` gives."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="the onnx extra is not installed "
                                          "(pip install -e '.[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

import minigrad as mg  # noqa: E402

#: The largest |onnxruntime - predict| a float32 test accepts (the issue's bound).
TOLERANCE = 1e-5


def randomize(model, seed=0):
    """Every weight and buffer of ``model`` drawn at random (biases and BatchNormalization's
    statistics too, which start at 0 / 1), so a converter that drops one is caught."""
    rng = np.random.default_rng(seed)
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        data = tensor.data
        if "variance" in name:
            values = rng.uniform(0.5, 2.0, data.shape)
        else:
            values = rng.normal(0.0, 0.5, data.shape)
        data[...] = values.astype(data.dtype)
    return model


def run(proto, feeds):
    """onnxruntime's outputs for ``feeds`` ({input name: array}) on the model ``proto``."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def assert_exports(model, *batches, tolerance=TOLERANCE, opset=17, **options):
    """Export ``model``; the graph passes ``check_model(full_check=True)`` and onnxruntime's
    output equals ``model.predict`` within ``tolerance`` on each batch (an array, or a list of
    arrays for several inputs). Returns (proto, the largest difference seen)."""
    proto = mg.onnx.export(model, None, opset=opset, **options)
    onnx.checker.check_model(proto, full_check=True)
    names = [i.name for i in proto.graph.input]
    worst = 0.0
    for batch in batches:
        arrays = batch if isinstance(batch, list) else [batch]
        got = run(proto, dict(zip(names, arrays)))
        expected = model.predict(batch if isinstance(batch, list) else batch, verbose=0) \
            if hasattr(model, "predict") else model(*arrays).numpy()
        expected = expected if isinstance(expected, (list, tuple)) else \
            list(expected.values()) if isinstance(expected, dict) else [expected]
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            e = np.asarray(e)
            assert g.shape == e.shape, (g.shape, e.shape)
            assert g.dtype == e.dtype, (g.dtype, e.dtype)
            difference = float(np.max(np.abs(g.astype(np.float64) - e))) if e.size else 0.0
            worst = max(worst, difference)
            assert difference <= tolerance, f"|onnxruntime - predict| = {difference}"
    _record(worst)
    return proto, worst


def _record(difference):
    """Keep the largest difference of the session (printed by the tests' summary)."""
    WORST[0] = max(WORST[0], difference)


WORST = [0.0]


def images(batch, height, width, channels, seed=1):
    return np.random.default_rng(seed).normal(size=(batch, height, width, channels)).astype(
        np.float32)


def vectors(batch, *shape, seed=1, dtype=np.float32):
    return np.random.default_rng(seed).normal(size=(batch, *shape)).astype(dtype)
