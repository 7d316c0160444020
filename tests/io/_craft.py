"""Taking model files apart and putting them back together, for tests that need a file with a
given header: written from the format's description, not with minigrad's own writer, so that
the tests also check that minigrad follows it.

``sign=True`` gives the file a correct version-2 checksum (sha256 of the file with the 64
characters of the digest written as "0"), as a deliberate forger would: such a file passes the
checksum, so what it tests is the validation of the contents.
"""

import hashlib
import json
import struct

ZEROS = "0" * 64


def split(data):
    """``(header dict, data bytes after the header)`` of a safetensors file's bytes."""
    (size,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8:8 + size]), data[8 + size:]


def assemble(header, payload, sign=True, header_text=None):
    """The bytes of a file with ``header`` (a dict, or ``header_text`` verbatim) and
    ``payload``; signed as version 2 when ``sign``."""
    if sign:
        header = json.loads(json.dumps(header))
        header.setdefault("__metadata__", {})["sha256"] = ZEROS
    text = header_text if header_text is not None else json.dumps(header, separators=(",", ":"))
    raw = text.encode()
    raw += b" " * (-len(raw) % 8)
    data = struct.pack("<Q", len(raw)) + raw + payload
    if sign:
        marker = f'"{ZEROS}"'.encode()
        assert data.count(marker) == 1
        digest = hashlib.sha256(data).hexdigest()
        data = data.replace(marker, f'"{digest}"'.encode())
    return data


def rewrite(path, change, sign=True):
    """Apply ``change(header)`` (edits the dict in place) to the file at ``path``."""
    header, payload = split(path.read_bytes())
    change(header)
    path.write_bytes(assemble(header, payload, sign=sign))


def edit_json(header, key, change):
    """Apply ``change(value)`` to the JSON held in metadata ``key`` of ``header``."""
    value = json.loads(header["__metadata__"][key])
    change(value)
    header["__metadata__"][key] = json.dumps(value)
