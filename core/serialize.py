"""Model files: the safetensors layout, written by hand (no pickle, no code on load).

    [8 bytes: little-endian u64 N][N bytes: JSON header][tensor bytes]

The header names each tensor ("W1", "b1", ...) with its dtype, shape and byte range, and carries
``__metadata__`` (strings only): "reseau" holds the model's JSON description (format version,
architecture, activations, initialisers, scaler, training configuration) and "checksum" the
SHA-256 of the description and of every tensor by name (its name, dtype, shape and values, in
name order), not of the byte layout: a file that another safetensors writer laid out anew (other
order, other padding) still verifies. Files written before this checksum carry "sha256", of the
tensor bytes as laid out, and still load. Files are written by core/outputs.py (a temporary
file, flushed to disk, renamed over the target; links followed, devices refused), so a reader
never sees half a file. Loading reads one snapshot through one open descriptor and checks the
sizes and shapes against the header before it allocates, then the checksum.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

from ..backends.host import np
from . import filekinds, schema
from .outputs import write_bytes
from .validation import regular_file

FORMAT = "reseau-mlp"
VERSION = 1
MAX_HEADER = 1 << 24  # 16 MiB of JSON
MAX_TENSOR_BYTES = 1 << 36  # refuse files claiming more than 64 GiB of weights
_DTYPES = {"F32": np.float32, "F64": np.float64, "I32": np.int32, "I64": np.int64}
_NAMES = {np.dtype(v).str: k for k, v in _DTYPES.items()}


def write(path, tensors: dict, description: dict):
    """Write ``tensors`` (name -> host array) and ``description`` atomically to ``path``."""
    path = Path(path)
    header, chunks, offset = {}, [], 0
    for name, array in tensors.items():
        array = np.asarray(array, order="C")  # (ascontiguousarray would make a 0-d array 1-d)
        data = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {
            "dtype": _NAMES[array.dtype.str],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    body = b"".join(chunks)
    text = json.dumps({"format": FORMAT, "version": VERSION, **description})
    header["__metadata__"] = {"reseau": text, "checksum": checksum(text, tensors)}
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)  # keep the tensor bytes 8-byte aligned
    if len(head) > MAX_HEADER:  # what ``read`` refuses is never written
        longest = max((str(v) for v in (description.get("feature_names") or [])), key=len, default="")
        raise ValueError(
            f"{path}: the model's description is {len(head) / 2**20:.1f} MiB, more than the "
            f"{MAX_HEADER >> 20} MiB a model file's header may hold"
            + (f" (the longest feature name has {len(longest):,} characters)" if len(longest) > 1000 else "")
            + "; expected shorter feature names or fewer categories. Nothing was written"
        )
    write_bytes(path, struct.pack("<Q", len(head)) + head + body)


def checksum(description_text: str, tensors: dict) -> str:
    """SHA-256 of the description's text and of each tensor (name, dtype, shape, little-endian
    values), in name order: independent of where the bytes sit in the file."""
    h = hashlib.sha256()
    for start in range(0, len(description_text), 1 << 20):  # in pieces: no whole encoded copy
        h.update(description_text[start : start + (1 << 20)].encode())
    for name in sorted(tensors):
        array = np.asarray(tensors[name])
        h.update(json.dumps([name, _NAMES[array.dtype.newbyteorder("<").str], list(array.shape)]).encode())
        h.update(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes())
    return "sha256:" + h.hexdigest()


def read(path, check=None):
    """(tensors, description) from a model file; a ValueError that names the file otherwise.
    ``check(description, {name: (dtype, shape)})`` runs once the header is parsed, before the
    tensors are read (core/schema.py: the description against the tensors it announces)."""
    path = Path(path)
    regular_file(path)
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size  # this descriptor's file, whoever renames over the path
            raw_n = f.read(8)
            if len(raw_n) < 8:
                raise ValueError(f"{path}: truncated (shorter than a header); not a reseau model file")
            (n,) = struct.unpack("<Q", raw_n)
            kind = filekinds.kind_of(path)
            if kind not in (None, filekinds.RESEAU):
                raise ValueError(f"{path}: this is {kind}, not a reseau model file; {filekinds.advice(kind, 'model')}")
            if (n > MAX_HEADER or 8 + n > size) and all(32 <= c < 127 or c in b"\t\r\n" for c in raw_n):
                raise ValueError(
                    f"{path}: this is text (a CSV?), not a reseau model file; give data as --data, and "
                    "as the model a file written by `reseau train --save` or model.save()"
                )
            if n > MAX_HEADER or 8 + n > size:
                raise ValueError(
                    f"{path}: header length {n} does not fit the file ({size} bytes); "
                    "truncated, corrupted or not a reseau model file"
                )
            try:
                header = schema.parse(f.read(n), "the header", MAX_HEADER)
                meta = header.pop("__metadata__")
                text = meta["reseau"]
                description = schema.parse(text, "the description", MAX_HEADER)
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                why = f" ({exc})" if "nested" in str(exc) or "bytes" in str(exc) else ""
                raise ValueError(f"{path}: unreadable header{why}; not a reseau model file") from None
            if not isinstance(description, dict) or not isinstance(header, dict):
                raise ValueError(f"{path}: the description is not a JSON object; not a reseau model file")
            if description.get("format") != FORMAT:
                raise ValueError(f"{path}: format {description.get('format')!r}, expected {FORMAT!r}")
            if description.get("version") != VERSION:
                raise ValueError(
                    f"{path}: format version {description.get('version')!r}; this reseau reads version {VERSION}"
                )
            specs = _check_specs(path, header, size - 8 - n)
            if check is not None:
                check(description, {name: (dtype, shape) for name, (dtype, shape, _, _) in specs.items()})
            body = f.read(size - 8 - n)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if "checksum" not in meta and hashlib.sha256(body).hexdigest() != meta.get("sha256"):
        raise ValueError(f"{path}: the checksum of the weights does not match; the file is corrupted")
    tensors = {
        name: np.frombuffer(body, dtype=np.dtype(dtype).newbyteorder("<"), count=count, offset=start)
        .reshape(shape)
        .astype(dtype)
        for name, (dtype, shape, start, count) in specs.items()
    }
    if "checksum" in meta and checksum(meta["reseau"], tensors) != meta["checksum"]:
        raise ValueError(f"{path}: the checksum of the weights and description does not match; the file is corrupted")
    return tensors, description


def _integer(value) -> int:
    """A JSON integer of the header (a float such as Infinity or 2.5, a bool or text: TypeError)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(value)
    return value


def _check_specs(path, header, body_size):
    """Every tensor's dtype, shape and byte range, checked against each other and the file size
    before anything is allocated."""
    specs, end = {}, 0
    by_offset = sorted(header.items(), key=lambda item: _start(item[1]))
    for name, spec in by_offset:
        try:
            dtype = _DTYPES[spec["dtype"]]
            shape = [_integer(d) for d in spec["shape"]]
            start, stop = (_integer(x) for x in spec["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}: tensor {name!r} has a malformed entry in the header") from None
        size = float(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize  # no overflow: a float
        if any(d < 0 for d in shape) or size > MAX_TENSOR_BYTES:
            raise ValueError(f"{path}: tensor {name!r} claims shape {shape}; refusing")
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        nbytes = count * np.dtype(dtype).itemsize
        if start != end or stop - start != nbytes:
            raise ValueError(
                f"{path}: tensor {name!r} has byte range [{start}, {stop}) but shape {shape} "
                f"needs {nbytes} bytes at {end}; corrupted"
            )
        specs[name] = (dtype, shape, start, count)
        end = stop
    specs = {name: specs[name] for name in header}
    if end != body_size:
        raise ValueError(
            f"{path}: the header describes {end} bytes of weights but the file holds "
            f"{body_size}; truncated or corrupted"
        )
    return specs


def _start(spec):
    """A tensor entry's first byte, for laying entries out in file order (malformed: first)."""
    try:
        return int(spec["data_offsets"][0])
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        return -1
