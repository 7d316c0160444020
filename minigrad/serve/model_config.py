"""A served model's configuration: which versions to serve (the version policy), read from an
optional ``config.json`` in its repository folder, and the model configuration in the JSON form
of Triton's ``config.pbtxt`` (what ``tritonclient``'s ``get_model_config`` reads).

``config.json`` holds one key, ``version_policy``, in Triton's JSON form::

    {"version_policy": {"latest": {"num_versions": 2}}}    the 2 highest versions (default 1)
    {"version_policy": {"all": {}}}                          every version in the folder
    {"version_policy": {"specific": {"versions": [1, 3]}}}  exactly these versions

Without the file a repository serves the highest version (Triton's default, ``latest`` 1).
"""

import json

from ..io import UnreadableFileError, read_regular_file

#: Triton's default: the highest version only.
DEFAULT_POLICY = {"latest": {"num_versions": 1}}
#: The file in a model folder that sets its version policy.
CONFIG_FILE = "config.json"
#: config.json and a load request's config are small; anything larger is refused unread.
MAX_CONFIG_BYTES = 64 * 1024


class VersionPolicy:
    """Which of a model's versions to serve: the ``latest`` N, ``all``, or ``specific`` ones.

    >>> policy = mg.serve.model_config.VersionPolicy({"latest": {"num_versions": 2}})
    >>> policy.wanted(["1", "2", "3"])    # the candidates, highest first ...
    ['3', '2', '1']
    >>> policy.limit                       # ... of which the first 2 that load are served
    2
    >>> mg.serve.model_config.VersionPolicy({"specific": {"versions": [1, 3]}}).wanted(
    ...     ["1", "2", "3"])
    ['3', '1']
    """

    def __init__(self, spec=None, where="version_policy"):
        spec = DEFAULT_POLICY if spec is None else spec
        if not isinstance(spec, dict) or len(spec) != 1:
            raise ValueError(f"{where}: expected one of {{\"latest\": {{\"num_versions\": N}}}}, "
                             f"{{\"all\": {{}}}} or {{\"specific\": {{\"versions\": [...]}}}}, "
                             f"got {spec!r}")
        (kind, options), = spec.items()
        if not isinstance(options, dict):
            raise ValueError(f"{where}.{kind}: expected an object, got {options!r}")
        self.kind, self.limit, self.versions = kind, None, None
        if kind == "latest":
            count = options.get("num_versions", 1)
            if set(options) - {"num_versions"} or not _is_count(count) or count < 1:
                raise ValueError(f"{where}.latest: expected {{\"num_versions\": N}} with N >= 1, "
                                 f"got {options!r}")
            self.limit = count
        elif kind == "all":
            if options:
                raise ValueError(f"{where}.all: takes no options, got {options!r}")
        elif kind == "specific":
            versions = options.get("versions")
            if (set(options) != {"versions"} or not isinstance(versions, list) or not versions
                    or not all(_is_count(v) for v in versions)):
                raise ValueError(f"{where}.specific: expected {{\"versions\": [1, 2, ...]}}, "
                                 f"got {options!r}")
            self.versions = sorted({str(v) for v in versions}, key=int)
        else:
            raise ValueError(f"{where}: unknown policy {kind!r}; expected latest, all or "
                             "specific")
        self.spec = {kind: dict(options)}

    def wanted(self, available):
        """The versions of ``available`` this policy may serve, highest first (``latest``
        serves the first ``limit`` of them that load)."""
        ordered = sorted(available, key=int, reverse=True)
        if self.versions is not None:
            return [v for v in ordered if v in self.versions]
        return ordered


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def read_folder_config(folder):
    """The :class:`VersionPolicy` of a model folder: from its ``config.json``, or the default.
    A malformed file is a ValueError naming it."""
    path = folder / CONFIG_FILE
    if not path.exists():
        return VersionPolicy()
    try:
        config = json.loads(read_regular_file(path, MAX_CONFIG_BYTES))
    except (OSError, UnreadableFileError, ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: not a readable JSON file ({exc})") from None
    return policy_of(config, str(path), name=folder.name)


def policy_of(config, where, name, current=None):
    """The :class:`VersionPolicy` a config object (``config.json``'s, or a load request's)
    sets. ``version_policy`` is the one setting it may change; ``name`` must be the model's,
    and any other key must equal the value in ``current`` (the served model's configuration,
    as :func:`triton_config` gives it), so that a configuration read back from the server,
    its policy edited, can be sent with a load request."""
    if not isinstance(config, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(config).__name__}")
    if config.get("name", name) != name:
        raise ValueError(f"{where}: names model {config['name']!r}, not {name!r}")
    current = current or {}
    fixed = sorted(key for key, value in config.items()
                   if key not in ("name", "version_policy") and current.get(key) != value)
    if fixed:
        raise ValueError(f"{where}: only 'version_policy' can be set for a minigrad model; "
                         f"{', '.join(map(repr, fixed))} cannot be changed (they follow from "
                         "the model file and the server's options)")
    return VersionPolicy(config.get("version_policy"), f"{where}: version_policy")


def _triton_tensor(entry, batched, output=False):
    dims = entry["shape"][1:] if batched else entry["shape"]
    tensor = {"name": entry["name"], "data_type": f"TYPE_{entry['datatype']}",
              "dims": list(dims)}
    if not output:
        tensor["format"] = "FORMAT_NONE"
    return tensor


def triton_config(metadata, policy, max_batch_size, batch_timeout_ms=0.0):
    """The model configuration in Triton's JSON form, from the model ``metadata`` (the
    protocol's, see :meth:`minigrad.serve.ServedModel.metadata`), its :class:`VersionPolicy`
    and the server's batching options. With dynamic batching on, ``max_batch_size`` is the
    rows per merged forward pass and ``dims`` leave out the batch axis (Triton's convention);
    with it off, ``max_batch_size`` is 0 and ``dims`` start with -1 (a request may still hold
    any number of rows)."""
    batched = max_batch_size > 0
    platform = metadata.get("platform", "minigrad")
    config = {
        "name": metadata["name"], "platform": platform,
        "backend": "onnxruntime" if platform == "onnxruntime_onnx" else "minigrad",
        "version_policy": policy.spec, "max_batch_size": int(max_batch_size),
        "input": [_triton_tensor(t, batched) for t in metadata["inputs"]],
        "output": [_triton_tensor(t, batched, output=True) for t in metadata["outputs"]]}
    if batched:
        config["dynamic_batching"] = {
            "max_queue_delay_microseconds": int(round(batch_timeout_ms * 1000))}
    return config
