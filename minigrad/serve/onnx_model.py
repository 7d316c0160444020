"""Serving an ONNX file through onnxruntime, behind the same protocol, dynamic batching, metrics
and request checks as a minigrad model.

A file whose name ends in ``.onnx`` is a model file wherever a ``.safetensors`` one is
(``minigrad serve model.onnx``, ``mnist/model.onnx``, ``mnist/2/model.onnx``); it is
served under the input and output names of its graph, with the datatypes and shapes the graph
declares (the batch axis, which must be dynamic, as -1), and ``"platform":
"onnxruntime_onnx"`` (Triton's name for it) in its metadata. Models exported by
:func:`minigrad.onnx.export <minigrad.export.onnx.export>` keep the names ``"input"`` and
``"output"`` that minigrad's own models are served under, so clients need no change.

Loading is careful with the file, as :mod:`minigrad.io` is with minigrad's: it must be a regular
file (not a FIFO, device or directory) under protobuf's 2 GiB limit; its bytes are handed to
onnxruntime, so tensor data that a file stores "externally" (in other files named by paths
inside it) is never looked for; and the session runs on the CPU execution provider with no
custom-operator library, so nothing in the file runs but the ONNX operators that onnxruntime
implements.

onnxruntime's intra-op threads (one forward pass split over cores) default to its own choice
(the physical cores); ``threads=`` or the environment variable ``MINIGRAD_ONNX_THREADS`` set
them. Needs the ``onnx`` extra (``onnxruntime``).
"""

import os
from pathlib import Path

import numpy as np

from ..extras import install_hint
from ..io import read_regular_file
from .models import ONNX_SUFFIX, ServedModel
from .tensors import TensorSpec, datatype_of

#: The file name ending that marks an ONNX model file.
SUFFIX = ONNX_SUFFIX
#: The ``platform`` of an ONNX model in its metadata (Triton's name for onnxruntime models).
PLATFORM = "onnxruntime_onnx"
#: Environment variable setting onnxruntime's intra-op threads for served ONNX models.
THREADS_VARIABLE = "MINIGRAD_ONNX_THREADS"
#: The largest file accepted: protobuf cannot parse a message of 2 GiB or more.
MAX_BYTES = 2**31 - 1

# onnxruntime's element type names -> NumPy dtypes (those the protocol has a datatype for).
_ELEMENT_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int8)": np.int8, "tensor(int16)": np.int16, "tensor(int32)": np.int32,
    "tensor(int64)": np.int64, "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_,
}


def is_onnx_file(path):
    """Whether ``path`` names an ONNX model file (by its ending, as ``.safetensors``)."""
    path = Path(path)
    return path.suffix == SUFFIX and not path.name.startswith(".")


def _onnxruntime():
    try:
        import onnxruntime
    except ImportError:
        raise ImportError("serving an ONNX model needs onnxruntime, from the onnx extra: "
                          f"{install_hint('onnx')}") from None
    return onnxruntime


def _threads(threads):
    """The intra-op thread count asked for: ``threads``, else $MINIGRAD_ONNX_THREADS, else 0
    (onnxruntime's choice)."""
    if threads is None:
        text = os.environ.get(THREADS_VARIABLE, "").strip()
        if not text:
            return 0
        try:
            threads = int(text)
        except ValueError:
            raise ValueError(f"${THREADS_VARIABLE} must be a whole number of threads, got "
                             f"{text!r}") from None
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ValueError(f"ONNX threads must be a whole number >= 0 (0: onnxruntime's choice), "
                         f"got {threads!r}")
    return threads


def open_session(path, threads=None):
    """An onnxruntime ``InferenceSession`` on the CPU for the ONNX file ``path``.

    Raises ImportError (with the install command) without onnxruntime, FileNotFoundError,
    :class:`~minigrad.io.UnreadableFileError` for anything but a regular file, and ValueError
    naming the file when onnxruntime cannot load it (not ONNX, truncated, external data, an
    operator it lacks).
    """
    ort = _onnxruntime()
    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads(threads)
    options.inter_op_num_threads = 1  # the graph's nodes run one after another
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3  # errors only: its warnings would flood the server's log
    data = read_regular_file(path, max_bytes=MAX_BYTES)
    try:
        return ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception classes (Fail, InvalidGraph, ...)
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValueError(f"{path}: onnxruntime cannot load it as an ONNX model ({message})") \
            from None


def _spec(argument, what, path):
    """The TensorSpec of an onnxruntime ``NodeArg`` (``what``: "input" or "output")."""
    dtype = _ELEMENT_TYPES.get(argument.type)
    if dtype is None:
        raise ValueError(f"{path}: {what} {argument.name!r} is of type {argument.type}, which "
                         "the inference protocol cannot carry")
    shape = argument.shape
    if not shape:
        raise ValueError(f"{path}: {what} {argument.name!r} has no batch axis (shape "
                         f"{shape}); a served model takes and gives batches")
    if isinstance(shape[0], int):
        raise ValueError(f"{path}: {what} {argument.name!r} has a fixed batch size of "
                         f"{shape[0]} (shape {shape}), but the server merges requests into "
                         "batches of any size; export the model with a dynamic batch axis "
                         "(minigrad.onnx.export's default)")
    return TensorSpec(argument.name, datatype_of(dtype),
                      [-1] + [d if isinstance(d, int) else -1 for d in shape[1:]])


class OnnxServedModel(ServedModel):
    """One version of a model from an ONNX file, run by onnxruntime, with the interface of
    :class:`~minigrad.serve.ServedModel` (``name``, ``version``, ``path``, ``input``,
    ``output``, ``predict``, ``metadata``), so the app serves it as any other.

    Args:
        name, version: what the server calls it.
        path: the ``.onnx`` file.
        threads: onnxruntime's intra-op threads (default: $MINIGRAD_ONNX_THREADS, else
            onnxruntime's choice).

    The graph must take one tensor and give one, each with a dynamic first (batch) axis.
    onnxruntime's ``run`` may be called from several threads at once (without dynamic
    batching, concurrent requests do).

    >>> import pathlib, tempfile
    >>> from minigrad.serve.onnx_model import OnnxServedModel
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tiny.onnx"
    >>> _ = mg.onnx.export(mg.Sequential([mg.nn.Dense(2, input_shape=(3,))]), path)
    >>> served = OnnxServedModel("tiny", 1, path)
    >>> served.input.metadata()
    {'name': 'input', 'datatype': 'FP32', 'shape': [-1, 3]}
    >>> served.metadata(["1"])["platform"]
    'onnxruntime_onnx'
    >>> served.predict(np.ones((4, 3), np.float32)).shape
    (4, 2)
    """

    platform = PLATFORM

    def __init__(self, name, version, path, threads=None):
        # Not ServedModel.__init__: that one reads a minigrad model; this reads the graph.
        self.name = name
        self.version = str(version)
        self.path = path
        self.session = open_session(path, threads)
        self.model = self.session
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError(f"{path}: the server answers models of one input and one output; "
                             f"this graph has inputs {[a.name for a in inputs]} and outputs "
                             f"{[a.name for a in outputs]}")
        self.input = _spec(inputs[0], "input", path)
        self.output = _spec(outputs[0], "output", path)
        self._names = [self.output.name]
        if -1 in self.output.shape[1:] and -1 not in self.input.shape[1:]:
            # A graph that leaves an output size open: one probe on zeros says what it is.
            probe = np.zeros([1, *self.input.shape[1:]], dtype=self.input.dtype)
            self.output.shape = [-1, *self.predict(probe).shape[1:]]

    def predict(self, rows):
        """The graph's output for the NumPy batch ``rows`` (already checked against
        ``input``), as a NumPy array with the same number of rows."""
        (outputs,) = self.session.run(self._names, {self.input.name: rows})
        if outputs.ndim == 0 or len(outputs) != len(rows):
            raise RuntimeError(f"{self.path}: the graph gave {outputs.shape} for a batch of "
                               f"{len(rows)} rows; its first output axis is not the batch")
        return outputs

    def metadata(self, versions):
        """The protocol's model metadata object."""
        answer = super().metadata(versions)
        answer["platform"] = self.platform
        return answer
