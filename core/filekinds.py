"""What a file is, told from its first bytes (a file's name can lie): so that a model file given as
data, or an ONNX file given as a model, is named as what it is instead of failing deep inside a
reader ("not valid UTF-8 text", "header length 7310298160554969352 does not fit")."""

from __future__ import annotations

import struct
from pathlib import Path

#: a reseau model file: an 8-byte header length, then the JSON header (core/serialize.py)
RESEAU = "a reseau model file"
ONNX = "an ONNX model"
PARQUET = "a Parquet file"
ARROW = "an Arrow (Feather) file"
ZIP = "a zip archive"
EXCEL = "an Excel workbook (.xlsx, a zip archive)"
OTHERS = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\xd0\xcf\x11\xe0", "an old Excel (.xls) or Office document"),
    (b"SQLite format 3", "an SQLite database"),
    (b"\x93NUMPY", "a NumPy .npy array"),
)


def kind_of(path) -> str | None:
    """What ``path`` holds by its first bytes, where they tell (None: text, gzip, or unknown)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if head.startswith(b"PAR1"):
        return PARQUET
    if head.startswith(b"ARROW1"):
        return ARROW
    if head.startswith(b"PK\x03\x04"):
        return EXCEL if Path(path).suffix.lower() in (".xlsx", ".xlsm") or b"[Content_Types]" in head else ZIP
    if len(head) >= 10 and head[8:10] == b'{"' and struct.unpack("<Q", head[:8])[0] < 1 << 40:
        return RESEAU
    if len(head) >= 4 and head[0] == 0x08 and head[2] in (0x12, 0x3A, 0x42) and b"\n" not in head[:2]:
        return ONNX  # ModelProto: ir_version (field 1), then producer_name, graph or opset_import
    return next((name for magic, name in OTHERS if head.startswith(magic)), None)


def advice(kind: str, role: str) -> str:
    """What to do with a file of ``kind`` given as ``role`` ("data" or "model")."""
    if role == "data":
        return {
            RESEAU: "give it as the model: reseau evaluate MODEL --data DATA, or reseau predict MODEL DATA",
            ONNX: "run it with onnxruntime; reseau reads data as CSV, Parquet, Feather, NPZ or IDX",
            EXCEL: "save the sheet as CSV (or read it with pandas.read_excel and pass the DataFrame)",
        }.get(kind, "expected data as CSV, Parquet, Feather, NPZ or IDX")
    return {
        ONNX: "it runs in onnxruntime; reseau reads the model files that `reseau train --save` or model.save() write",
        PARQUET: "it looks like data: give it as --data",
        ARROW: "it looks like data: give it as --data",
    }.get(kind, "expected a file written by `reseau train --save` or model.save()")
