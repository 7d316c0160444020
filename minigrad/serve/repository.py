"""A live model repository: model versions loaded, swapped and unloaded while the server runs
(Triton's model repository and its model control modes).

Layout (Triton's)::

    repository/
        mnist/                       a model folder: the model "mnist"
            config.json              optional: its version policy (see model_config)
            1/model.safetensors      version 1
            2/model.safetensors      version 2 (a file model.save wrote, or model.onnx)
        imdb/model.safetensors       a model folder without versions: version 1

Control modes (``--model-control-mode``, Triton's names):

- ``none``: every model is loaded at start; nothing changes afterwards.
- ``poll``: every model is loaded at start, and the repository is scanned again every
  ``poll_secs`` seconds: new versions are loaded, versions gone or no longer wanted by the
  policy are unloaded, a model folder removed is unloaded, a new one loaded.
- ``explicit``: only the models named at start (``--load-model``; ``*`` for all) are loaded;
  the repository API's load and unload requests change the rest.

A new version is loaded off the request path (by the poll thread, or by the load request),
checked, warmed up, and only then swapped in: one assignment replaces the model's table of
versions, so every request sees either the old table or the new one. Requests already running
finish on the version they started with, which is released when the last of them ends.

A version is refused -- with an error in the log, ``minigrad_model_load_failures_total``, and
its reason in the repository index -- when its file cannot be read or fails its checksum (a
truncated or tampered file: minigrad files carry the sha256 of their whole content), when its
input or output differs from the version served, or when its warm-up fails. The versions
served stay served. A refused version is not tried again until its file changes (size,
modification time or inode), and a file that changes while it is being read is taken to be
still written: it is tried again at the next scan, without an error.

Publishing a version safely: write it into a hidden folder beside the versions (same
filesystem), then rename that folder to the version number, as
:func:`~minigrad.serve.publish_version` does. Folders whose names are not plain numbers
(``.incoming-3``) are never looked at, and a rename is atomic: the poller sees no version
folder, or a complete one.
"""

import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path

from .errors import ServeError
from .model_config import VersionPolicy, policy_of, read_folder_config
from .models import _inside, _is_model_file, is_version_name, load_served

log = logging.getLogger("minigrad.serve")

#: Triton's model control modes.
CONTROL_MODES = ("none", "poll", "explicit")
#: Seconds between two scans in poll mode (Triton's default).
DEFAULT_POLL_SECS = 15.0
# A model name: one path component that is not hidden (temporary folders are), no
# separators or control characters; "stats" is the route /v2/models/stats.
_NAME = re.compile(r"[^./\\\x00-\x1f][^/\\\x00-\x1f]{0,254}")


def _is_model_name(name):
    return _NAME.fullmatch(name) is not None and name != "stats"


class _Failure(Exception):
    """A version that cannot be served, with the reason."""


class ModelRepository:
    """The models of a repository folder, loaded into a running app's model set.

    Args:
        root: the repository folder.
        control_mode: ``"none"``, ``"poll"`` or ``"explicit"`` (see the module docstring).
        poll_secs: seconds between scans in poll mode.
        load: the models to load at start in explicit mode (``"*"``: every one).
    """

    def __init__(self, root, control_mode="none", poll_secs=DEFAULT_POLL_SECS, load=()):
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such repository folder")
        if control_mode not in CONTROL_MODES:
            raise ValueError(f"model control mode {control_mode!r}: expected one of "
                             f"{', '.join(CONTROL_MODES)}")
        if not poll_secs > 0:
            raise ValueError(f"repository poll interval must be positive, got {poll_secs}")
        self.root = root.resolve()
        self.control_mode = control_mode
        self.poll_secs = float(poll_secs)
        self.load_at_start = list(load)
        if self.load_at_start and control_mode != "explicit":
            raise ValueError("models to load at start (--load-model) are for the explicit "
                             "model control mode; the others load every model")
        self._change = threading.Lock()  # one change at a time; requests never take it
        self._failed = {}  # (name, version) -> (file signature, reason)
        self._problems = {}  # name -> why the model as a whole is not served
        self._policies = {}  # name -> the policy of its last explicit load with a config
        self._unloaded = set()
        self._stop = threading.Event()
        self._thread = None
        self._models = self._deploy = self._metrics = None
        self._config_of = None

    # --- life cycle ---------------------------------------------------------------------
    def start(self, models, deploy, metrics=None, config_of=None):
        """Load the models the control mode starts with into ``models`` (a
        :class:`~minigrad.serve.ModelSet`), making each version with ``deploy(served,
        source)``; in poll mode, start scanning. ``config_of(name)`` gives a served model's
        configuration (to check a load request's)."""
        self._models, self._deploy, self._metrics = models, deploy, metrics
        self._config_of = config_of
        if self.control_mode == "explicit":
            names = self.model_names() if "*" in self.load_at_start else self.load_at_start
            for name in names:
                self._folder(name)  # an unknown name is an error at start
                self._sync(name, explicit=True)
        else:
            self.poll()
        if self.control_mode == "poll":
            self._thread = threading.Thread(target=self._poll_loop, name="minigrad-repository",
                                            daemon=True)
            self._thread.start()

    def close(self):
        """Stop scanning (the models stay loaded)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(max(10.0, self.poll_secs))

    def _poll_loop(self):
        while not self._stop.wait(self.poll_secs):
            try:
                self.poll()
            except Exception:  # a scan must never end the polling
                log.exception("scanning the model repository %s failed", self.root)

    # --- scanning -----------------------------------------------------------------------
    def model_names(self):
        """The model folders in the repository, sorted."""
        try:
            entries = sorted(self.root.iterdir())
        except OSError as exc:
            log.error("cannot read the model repository %s: %s", self.root, exc)
            return []
        return [p.name for p in entries if _is_model_name(p.name) and p.is_dir()]

    def poll(self):
        """Bring every model in line with the repository: load what is new, unload what is
        gone (one scan of poll mode; also the initial load)."""
        on_disk = self.model_names()
        for name in sorted(set(on_disk) | set(self._models.names)):
            if self._stop.is_set():
                return
            self._sync(name)

    def _folder(self, name):
        """The folder of model ``name``: a 400 for a name that is not one folder's name, a
        404 when there is no such folder, a 400 when it leads outside the repository."""
        if not isinstance(name, str) or not _is_model_name(name):
            raise ServeError(400, f"{str(name)[:100]!r} is not a model name: a model is a "
                                  "folder directly inside the repository (not hidden, no "
                                  "path separators, not 'stats')")
        folder = self.root / name
        if not folder.is_dir():
            raise ServeError(404, f"no model folder {name!r} in the repository")
        try:
            _inside(folder, self.root)
        except ValueError as exc:
            raise ServeError(400, str(exc)) from None
        return folder

    def _versions_on_disk(self, folder):
        """``{version: file}`` of a model folder; a version folder with no model file yet is
        left out (being published), one with several is a failure of that version."""
        found, broken = {}, {}
        numbered = [p for p in folder.iterdir() if is_version_name(p.name) and p.is_dir()]
        for path in numbered:
            version = str(int(path.name))
            files = [p for p in path.iterdir() if _is_model_file(p)]
            if len(files) > 1:
                broken[version] = (f"{path}: a version folder must hold one model file, found "
                                   f"{len(files)}")
            elif files:
                try:
                    found[version] = _inside(files[0], self.root)
                except ValueError as exc:
                    broken[version] = str(exc)
        if not numbered:
            files = [p for p in folder.iterdir() if _is_model_file(p)]
            if len(files) == 1:
                try:
                    found["1"] = _inside(files[0], self.root)
                except ValueError as exc:
                    broken["1"] = str(exc)
        return found, broken

    # --- one model ----------------------------------------------------------------------
    def _sync(self, name, explicit=False, policy=None):
        """Load, swap and unload versions of model ``name`` to match its folder. Returns the
        reasons of the versions refused by this call."""
        with self._change:
            return self._sync_locked(name, explicit, policy)

    def _sync_locked(self, name, explicit, policy):
        current = self._models.table(name)
        if name in self._unloaded and not explicit:
            return []
        if explicit:
            self._unloaded.discard(name)
        folder = self.root / name
        if not (_is_model_name(name) and folder.is_dir()):
            if current:  # the folder was removed: so is the model
                self._swap(name, current, {}, "its folder was removed")
            self._problems[name] = "no model folder"
            return []
        try:
            _inside(folder, self.root)
            if policy is None:
                policy = self._policies.get(name) or read_folder_config(folder)
            found, broken = self._versions_on_disk(folder)
        except (OSError, ValueError) as exc:
            return self._model_failed(name, str(exc), explicit)
        self._problems.pop(name, None)
        failures = []
        for version, reason in broken.items():
            failures.append(self._version_failed(name, version, None, reason, explicit))
        chosen = {}
        reference = current[max(current, key=int)] if current else None
        for version in policy.wanted(found):
            if policy.limit is not None and len(chosen) == policy.limit:
                break
            file = found[version]
            try:
                signature = _signature(file)
            except OSError:
                continue  # removed meanwhile
            served = current.get(version)
            if served is not None and served.source == signature:
                chosen[version] = served
                continue
            failed = self._failed.get((name, version))
            if failed is not None and failed[0] == signature and not explicit:
                if served is not None:  # the old file's model keeps serving
                    chosen[version] = served
                continue
            try:
                deployment = self._load(name, version, file, signature, reference)
            except _Failure as exc:
                if _changed(file, signature):
                    log.info("model %r version %s: %s is still being written; trying again "
                             "later", name, version, file)
                else:
                    failures.append(self._version_failed(name, version, signature, str(exc),
                                                         explicit))
                if served is not None:
                    chosen[version] = served
                continue
            self._failed.pop((name, version), None)
            chosen[version] = deployment
            reference = reference or deployment
        if chosen or not current or not failures:
            self._swap(name, current, chosen, "no longer wanted by its version policy")
        if not chosen and not failures:
            self._problems[name] = "no version to serve (no version folder holds a model file " \
                                   "the version policy selects)"
        return failures

    def _load(self, name, version, file, signature, reference):
        """A new deployment of ``file``, checked against ``reference`` (the version served)
        and warmed up; :class:`_Failure` with the reason otherwise."""
        started = time.monotonic()
        try:
            served = load_served(name, version, file)
        except Exception as exc:  # a broken file may fail in any way; the old one serves on
            raise _Failure(f"cannot load {file}: {exc}") from None
        if reference is not None:
            for part in ("inputs", "outputs"):
                new = served.metadata([])[part]
                old = reference.metadata([])[part]
                if new != old:
                    raise _Failure(f"{file}: its {part} {_tensors(new)} differ from version "
                                   f"{reference.version}'s {_tensors(old)}; a new version must "
                                   "fit the clients of the one served (serve it as another "
                                   "model)")
        deployment = self._deploy(served, signature)
        try:
            deployment.warm_up()
        except Exception as exc:
            raise _Failure(f"{file}: the warm-up forward pass failed: {exc}") from None
        deployment.load_seconds = time.monotonic() - started
        return deployment

    def _swap(self, name, current, chosen, why):
        """Serve ``chosen`` from now on; retire the versions of ``current`` it drops."""
        self._models.replace(name, chosen)
        for version, deployment in chosen.items():
            if current.get(version) is not deployment:
                seconds = deployment.load_seconds
                log.info("model %r version %s: loaded from %s in %.3f s, now served", name,
                         version, deployment.path, seconds)
                if self._metrics is not None:
                    self._metrics.loaded(name, version, seconds)
        for version, deployment in current.items():
            if chosen.get(version) is not deployment:
                log.info("model %r version %s: unloaded (%s); requests using it finish first",
                         name, version, "replaced by a new file" if version in chosen else why)
                if self._metrics is not None:
                    self._metrics.unloaded(name, version)
                deployment.retire()

    def _version_failed(self, name, version, signature, reason, explicit):
        if self._failed.get((name, version)) == (signature, reason) and not explicit:
            return f"version {version}: {reason}"  # logged and counted when first seen
        self._failed[(name, version)] = (signature, reason)
        log.error("model %r version %s refused: %s", name, version, reason)
        if self._metrics is not None:
            self._metrics.load_failures.labels(name).inc()
        return f"version {version}: {reason}"

    def _model_failed(self, name, reason, explicit):
        if self._problems.get(name) != reason or explicit:  # logged once, not every scan
            log.error("model %r refused: %s", name, reason)
            if self._metrics is not None:
                self._metrics.load_failures.labels(name).inc()
        self._problems[name] = reason
        return [reason]

    # --- the repository API -------------------------------------------------------------
    def load(self, name, config=None):
        """Load (or reload) model ``name`` from its folder (explicit mode only), with the
        version policy of ``config`` (a JSON object, Triton's configuration form) when given.
        A ServeError says why not; the versions served before stay served."""
        self._require_explicit("load")
        self._folder(name)
        policy = None
        if config is not None:
            try:
                current = self._config_of(name) if self._config_of and self._models.table(
                    name) else None
                policy = policy_of(config, "the load request's config", name, current)
            except ValueError as exc:
                raise ServeError(400, str(exc)) from None
        with self._change:
            if config is None:
                self._policies.pop(name, None)
            failures = self._sync_locked(name, explicit=True, policy=policy)
            if policy is not None and not failures:
                self._policies[name] = policy
        served = self._models.versions(name)
        if failures:
            keeps = (f"; version(s) {', '.join(served)} stay served" if served
                     else "; nothing of it is served")
            raise ServeError(400, f"failed to load model {name!r}: {'; '.join(failures)}{keeps}")
        if not served:
            raise ServeError(400, f"failed to load model {name!r}: "
                                  f"{self._problems.get(name, 'no version to serve')}")

    def unload(self, name):
        """Stop serving model ``name`` (explicit mode only); requests using it finish first.
        Unloading a model that is not loaded does nothing."""
        self._require_explicit("unload")
        if not isinstance(name, str) or not _is_model_name(name):
            self._folder(name)  # raises the 400
        with self._change:
            current = self._models.table(name)
            if current:
                self._swap(name, current, {}, "unload request")
            self._unloaded.add(name)

    def _require_explicit(self, what):
        if self.control_mode != "explicit":
            raise ServeError(400, f"explicit model {what} is not allowed in model control "
                                  f"mode {self.control_mode!r} (start the server with "
                                  "--model-control-mode explicit)")

    def policy(self, name):
        """The version policy model ``name`` is served under."""
        if name in self._policies:
            return self._policies[name]
        try:
            return read_folder_config(self.root / name)
        except ValueError:
            return VersionPolicy()

    def index(self, ready_only=False):
        """The repository index: one entry per model version served (state ``READY``), per
        version refused and per model not served (``UNAVAILABLE``, with the reason), and the
        names of the models never loaded (explicit mode)."""
        entries = []
        names = set(self.model_names()) | set(self._models.names)
        for name in sorted(names):
            served = self._models.versions(name)
            for version in served:
                entries.append({"name": name, "version": version, "state": "READY"})
            if ready_only:
                continue
            failed = sorted((v for (n, v) in self._failed if n == name and v not in served),
                            key=int)
            for version in failed:
                entries.append({"name": name, "version": version, "state": "UNAVAILABLE",
                                "reason": self._failed[(name, version)][1]})
            if served or failed:
                continue
            if name in self._unloaded:
                entries.append({"name": name, "state": "UNAVAILABLE", "reason": "unloaded"})
            elif name in self._problems:
                entries.append({"name": name, "state": "UNAVAILABLE",
                                "reason": self._problems[name]})
            else:
                entries.append({"name": name})
        return entries


def _signature(file):
    """What identifies a file's content cheaply: its path, size, modification time and
    inode (a rename into place is a new inode)."""
    info = os.stat(file)
    return (str(file), info.st_size, info.st_mtime_ns, info.st_ino)


def _changed(file, signature):
    try:
        return _signature(file) != signature
    except OSError:
        return True


def _tensors(entries):
    return ", ".join(f"{t['name']} {t['datatype']} {t['shape']}" for t in entries)


def publish_version(model, repository, name, version=None):
    """Save ``model`` as a new version of model ``name`` in the folder ``repository``,
    atomically, and return the version number (a string).

    The file is written into a hidden folder inside the model folder (so on the same
    filesystem), which is then renamed to the version number: a server polling the repository
    sees either no such version or the whole file, never part of it. ``version`` defaults to
    one more than the highest version there.

    >>> import tempfile
    >>> repository = tempfile.mkdtemp()
    >>> model = mg.Sequential([mg.nn.Dense(2, input_shape=(3,))])
    >>> mg.serve.publish_version(model, repository, "tiny")
    '1'
    >>> mg.serve.publish_version(model, repository, "tiny")
    '2'
    """
    if not _is_model_name(name):
        raise ValueError(f"{name!r} is not a model name (one visible folder name, not 'stats')")
    folder = Path(repository) / name
    folder.mkdir(parents=True, exist_ok=True)
    if version is None:
        numbers = [int(p.name) for p in folder.iterdir() if is_version_name(p.name)]
        version = max(numbers, default=0) + 1
    version = str(int(version))
    target = folder / version
    if target.exists():
        raise FileExistsError(f"{target}: version {version} of {name!r} exists already; "
                              "publish a new version number")
    incoming = Path(tempfile.mkdtemp(prefix=f".incoming-{version}-", dir=folder))
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(incoming, 0o777 & ~umask)  # mkdtemp's 0700 would hide it from other users
        model.save(incoming / "model.safetensors")
        os.rename(incoming, target)  # atomic; refuses to replace a version made meanwhile
    except BaseException:
        for leftover in incoming.glob("*"):
            leftover.unlink()
        if incoming.exists():
            incoming.rmdir()
        raise
    return version
