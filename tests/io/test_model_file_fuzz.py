"""Fuzzing model files: a small saved model (Dense, BatchNormalization, Dense; compiled with
Adam, trained one epoch so the optimizer has state) is damaged and crafted in many ways, and
every result must be refused with a ModelFileError or, for a crafted file whose checksum was
recomputed (what a forger would do), either load or be refused -- never another exception,
never a hang, never a large allocation.

Two kinds of files:

- *changed* files: the saved bytes truncated, bit- and byte-flipped (in the length prefix,
  the header and the data), with bytes inserted or deleted. The checksum covers the whole
  file, so every one of them must be refused: 0 loads of a changed model.
- *crafted* files, re-signed with a correct checksum: tensor entries with huge shapes,
  offsets past the end or overlapping, unknown dtypes; metadata that is not a table of
  strings; JSON nested 100,000 deep, invalid JSON and UTF-8; and random replacements anywhere
  in the architecture, compile and optimizer JSON (sizes of 10**12, negative or fractional
  numbers, unknown names, wrong types). These test the validation of the contents.

The normal suite runs a few seconds' worth (``ITERATIONS`` per kind); set
``MINIGRAD_FUZZ_ITERATIONS`` for more and ``MINIGRAD_FUZZ_SEED`` for another sequence. Run
with ``-s`` to see the counts.
"""

import json
import os
import random
import resource
import struct
import time

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.io import ModelFileError

from . import _craft as craft

ITERATIONS = int(os.environ.get("MINIGRAD_FUZZ_ITERATIONS", "400"))
SEED = int(os.environ.get("MINIGRAD_FUZZ_SEED", "0"))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 6)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    model = mg.Sequential([nn.Dense(8, activation="relu", input_shape=(6,)),
                           nn.BatchNormalization(), nn.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=1, verbose=0)
    path = tmp_path_factory.mktemp("fuzz") / "model.safetensors"
    model.save(path)
    return path.read_bytes(), x, model.predict(x)


class Outcomes:
    """Counts of what loading the fuzzed files did, and the first examples of each failure."""

    def __init__(self, path):
        self.path, self.counts, self.failures, self.slowest = path, {}, [], 0.0

    def load(self, data, kind, description, changed):
        self.path.write_bytes(data)
        start = time.perf_counter()
        try:
            mg.load_model(self.path)
            outcome = "loaded"
        except ModelFileError as error:
            outcome = "refused"
            if self.path.name not in str(error):
                self.fail(kind, description, f"the error does not name the file: {error}")
        except Exception as error:  # what this test is looking for  # noqa: BLE001
            outcome = "other exception"
            self.fail(kind, description, f"{type(error).__name__}: {error}"[:300])
        self.slowest = max(self.slowest, time.perf_counter() - start)
        if outcome == "loaded" and changed:
            self.fail(kind, description, "a changed model loaded")
        key = (kind, outcome)
        self.counts[key] = self.counts.get(key, 0) + 1

    def fail(self, kind, description, what):
        self.failures.append(f"{kind} / {description}: {what}")

    def report(self):
        counts = ", ".join(f"{kind} {outcome}: {n}" for (kind, outcome), n in
                           sorted(self.counts.items()))
        return f"seed {SEED}: {counts}; slowest load {self.slowest * 1000:.0f} ms"


# --- changed files (no new checksum) -----------------------------------------------------------
def changed_files(good, rng):
    """``(description, bytes)`` pairs, each the saved file with one kind of damage."""
    (header_size,) = struct.unpack("<Q", good[:8])
    regions = {"length": (0, 8), "header": (8, 8 + header_size),
               "data": (8 + header_size, len(good))}
    while True:
        kind = rng.choice(["truncate", "bit", "byte", "bits", "insert", "delete"])
        data = bytearray(good)
        region = rng.choice(list(regions))
        low, high = regions[region]
        if kind == "truncate":
            cut = rng.randrange(len(good))
            yield f"truncated to {cut}", bytes(data[:cut])
            continue
        at = rng.randrange(low, high)
        if kind == "bit":
            data[at] ^= 1 << rng.randrange(8)
        elif kind == "byte":
            data[at] = rng.randrange(256)
        elif kind == "bits":
            for _ in range(rng.randrange(2, 9)):
                data[rng.randrange(len(good))] ^= 1 << rng.randrange(8)
        elif kind == "insert":
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        else:
            del data[at:at + rng.randrange(1, 9)]
        yield f"{kind} in the {region} at byte {at}", bytes(data)


def test_every_changed_file_is_refused(saved, tmp_path):
    good, _, _ = saved
    rng = random.Random(SEED)
    outcomes = Outcomes(tmp_path / "fuzzed.safetensors")
    unchanged = 0
    generator = changed_files(good, rng)
    for _ in range(ITERATIONS):
        description, data = next(generator)
        if data == good:  # a byte set to the value it had: nothing changed
            unchanged += 1
            continue
        outcomes.load(data, "changed", description, changed=True)
    print(f"\nchanged files: {outcomes.report()}; {unchanged} mutations left the file as it was")
    assert not outcomes.failures, "\n".join(outcomes.failures[:20])
    assert outcomes.counts.get(("changed", "refused"), 0) == ITERATIONS - unchanged


# --- crafted files (re-signed) -------------------------------------------------------------------
def deep(depth):
    return "[" * depth + "]" * depth


JUNK = [10 ** 12, 2 * 10 ** 7, 2e7, -1, 0, 1.5, 1e308, float("inf"), float("nan"), True, None,
        "relu", "tanh", "nonexistent", "", "x" * 1000, [], {}, [10 ** 12], [-3], [None],
        {"class_name": "os.system", "config": {}}, {"__tensor__": "weights/0.kernel"},
        {"__tensor__": "nowhere"}]


def paths(value, prefix=()):
    """Every path (a tuple of keys/indices) into a JSON value, the root included."""
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from paths(item, prefix + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from paths(item, prefix + (index,))


def replace_at(value, path, new, delete=False):
    """``value`` with the item at ``path`` replaced by ``new`` (or removed)."""
    if not path:
        return new
    parent = value
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = new
    return value


def junk(rng):
    choice = rng.randrange(len(JUNK) + 2)
    if choice == len(JUNK):
        return rng.randrange(-10 ** 6, 10 ** 13)
    if choice == len(JUNK) + 1:
        return rng.choice(["glorot_uniform", "zeros", "ones", "orthogonal", "he_normal",
                           "sigmoid", "softmax", "linear", "Dense", "LSTM", "adam", "sgd",
                           "mse", "float64", "int8", "bogus"])
    return json.loads(json.dumps(JUNK[choice]))


DEEP = "@@deeply nested@@"


def craft_json_edit(good, rng):
    """A random replacement (or deletion) inside one metadata JSON value, re-signed."""
    header, payload = craft.split(good)
    key = rng.choice(["architecture", "architecture", "architecture", "compile", "optimizer"])
    text = header["__metadata__"][key]
    if rng.random() < 0.05:  # raw damage to the JSON text itself
        at = rng.randrange(len(text))
        header["__metadata__"][key] = text[:at] + rng.choice(["{", "]", '"', "\\", "\x00",
                                                              "\ud800", deep(100_000)]) + text[at:]
        return f"{key}: raw text edit at {at}", craft.assemble(header, payload)
    value = json.loads(text)
    path = rng.choice(list(paths(value)))
    if path and rng.random() < 0.2:
        value = replace_at(value, path, None, delete=True)
        what = "deleted"
    elif rng.random() < 0.03:
        value = replace_at(value, path, DEEP)
        what = "nested lists"
    else:
        new = junk(rng)
        value = replace_at(value, path, new)
        what = f"= {json.dumps(new)[:40]}"
    text = json.dumps(value).replace(json.dumps(DEEP), deep(rng.choice([20, 100_000])))
    header["__metadata__"][key] = text
    return f"{key} {list(path)} {what}", craft.assemble(header, payload)


def craft_header_edit(good, rng):
    """A malformed safetensors header (tensor entries, metadata), re-signed."""
    header, payload = craft.split(good)
    names = [name for name in header if name != "__metadata__"]
    name = rng.choice(names)
    entry = header[name]
    edits = {
        "huge shape": lambda: entry.update(shape=[10 ** 12, 10 ** 12]),
        "shape off by one": lambda: entry.update(shape=[entry["shape"][0] + 1] +
                                                 entry["shape"][1:] if entry["shape"] else [2]),
        "negative shape": lambda: entry.update(shape=[-1]),
        "float shape": lambda: entry.update(shape=[1.5]),
        "shape not a list": lambda: entry.update(shape=7),
        "offsets past the end": lambda: entry.update(data_offsets=[entry["data_offsets"][0],
                                                                   len(payload) + 4096]),
        "offsets reversed": lambda: entry.update(data_offsets=entry["data_offsets"][::-1]),
        "offsets overlap": lambda: entry.update(data_offsets=[0, entry["data_offsets"][1] -
                                                              entry["data_offsets"][0]]),
        "offsets not pairs": lambda: entry.update(data_offsets=[0]),
        "unknown dtype": lambda: entry.update(dtype=rng.choice(["F99", "C64", "BF16", "", 5,
                                                                None, "f32"])),
        "other dtype": lambda: entry.update(dtype=rng.choice(["F64", "I32", "U8", "BOOL"])),
        "extra field": lambda: entry.update(extra=1),
        "entry not a table": lambda: header.update({name: [1, 2, 3]}),
        "entry removed": lambda: header.pop(name),
        "metadata a list": lambda: header.update(__metadata__=["format", "minigrad"]),
        "metadata value a number": lambda: header["__metadata__"].update(content=1),
        "format version 3": lambda: header["__metadata__"].update(format_version="3"),
        "content weights": lambda: header["__metadata__"].update(content="weights"),
        "no architecture": lambda: header["__metadata__"].pop("architecture"),
        "no metadata": lambda: header.pop("__metadata__"),
    }
    description = rng.choice(sorted(edits) + ["nested header", "header a list", "bad utf-8",
                                              "duplicate key", "length past the end"])
    if description in edits:
        edits[description]()
        if description in ("no metadata", "metadata a list"):  # nowhere to put a checksum
            return description, craft.assemble(header, payload, sign=False)
        return f"{description} ({name})", craft.assemble(header, payload)
    if description == "nested header":
        return description, craft.assemble(None, payload, sign=False,
                                           header_text=deep(rng.choice([100, 100_000])))
    if description == "header a list":
        return description, craft.assemble(None, payload, sign=False, header_text="[1, 2]")
    if description == "bad utf-8":
        data = bytearray(craft.assemble(header, payload))
        data[9] = 0xFF
        return description, bytes(data)
    if description == "duplicate key":
        text = json.dumps(header, separators=(",", ":"))
        text = text[:-1] + f',"{name}":' + json.dumps(entry) + "}"
        return description, craft.assemble(None, payload, sign=False, header_text=text)
    data = bytearray(good)
    data[:8] = struct.pack("<Q", rng.choice([len(good), 2 ** 63, 2 ** 64 - 1, 200 * 2 ** 20]))
    return description, bytes(data)


def test_crafted_files_load_or_are_refused_with_a_model_file_error(saved, tmp_path):
    good, x, expected = saved
    rng = random.Random(SEED + 1)
    outcomes = Outcomes(tmp_path / "crafted.safetensors")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for i in range(ITERATIONS):
        make = craft_header_edit if i % 3 == 0 else craft_json_edit
        description, data = make(good, rng)
        outcomes.load(data, "crafted", description, changed=False)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print(f"\ncrafted files: {outcomes.report()}; peak memory grew {grown_mib:.0f} MiB")
    assert not outcomes.failures, "\n".join(outcomes.failures[:20])
    assert grown_mib < 200, "a crafted file made the loader allocate a lot of memory"
    assert outcomes.slowest < 5


def test_the_saved_model_itself_loads(saved, tmp_path):
    good, x, expected = saved
    path = tmp_path / "model.safetensors"
    path.write_bytes(good)
    np.testing.assert_array_equal(mg.load_model(path).predict(x), expected)
