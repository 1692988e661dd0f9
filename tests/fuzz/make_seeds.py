#!/usr/bin/python3
# Writes the seed inputs of tests/fuzz/corpus/ (small valid files of each format and a few
# near-misses). Crashing inputs the fuzzers find are added next to them by hand, named crash-*.
import gzip
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def st(entries, meta=None):
    header, body, off = {}, b"", 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in entries:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        body += raw
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + body


put("safetensors", "f32", st([("w", "F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4))], {"a": "b"}))
put("safetensors", "mixed", st([("a", "F64", [1], struct.pack("<d", 0.5)),
                                ("b", "I64", [2], struct.pack("<2q", -1, 7)),
                                ("c", "BOOL", [3], b"\x01\x00\x01"),
                                ("d", "F16", [2], struct.pack("<2H", 0x3c00, 0x8001)),
                                ("e", "BF16", [1], struct.pack("<H", 0x3f80)),
                                ("f", "U8", [2], b"\x05\xff"),
                                ("g", "I32", [1], struct.pack("<i", -9)),
                                ("h", "I16", [1], struct.pack("<h", -3)),
                                ("i", "I8", [1], b"\x80"),
                                ("s", "F32", [], struct.pack("<f", 1)),
                                ("z", "F32", [0, 4], b"")]))
put("safetensors", "overlap", st([("a", "F32", [1], b"\0" * 4)])[:-4] + b"\0" * 8)
put("safetensors", "empty", st([]))

def idx(code, dims, payload):
    return bytes([0, 0, code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + payload


put("idx", "u8", idx(0x08, [2, 2, 3], bytes(range(12))))
put("idx", "u8.gz", gzip.compress(idx(0x08, [3, 2], bytes(range(6)))))
put("idx", "i8", idx(0x09, [3], b"\x80\x00\x7f"))
put("idx", "i16", idx(0x0B, [2], struct.pack(">2h", -2, 300)))
put("idx", "i32", idx(0x0C, [1, 2], struct.pack(">2i", -5, 1 << 20)))
put("idx", "f32", idx(0x0D, [2], struct.pack(">2f", 1.5, -0.25)))
put("idx", "f64.gz", gzip.compress(idx(0x0E, [1], struct.pack(">d", 2.0))))
put("idx", "truncated", idx(0x08, [10, 10], b"\0" * 5))

put("csv", "classes", b"a,b,label\n1,2,x\n3.5,-1e3,y\n0,0,x\n")
put("csv", "quoted", b"\xef\xbb\xbf\"a\",b,label\r\n\"1\",2,\"q \"\"x\"\"\"\r\n")
put("csv", "ints", b"label,f\n10,1\n3,2\n")
put("csv", "bad", b"a,label\n1,x\nnan,y\n")
