"""A small, independent implementation of the SQLite page-cache sidecar v8 (reference-format §6.1),
written from the spec byte by byte: a parser/checker for sidecars our TypeScript writer produces,
and a producer (dbstat-based, as the reference does it) for sidecars our TypeScript reader consumes.
"""

from __future__ import annotations

import sqlite3
import struct
from dataclasses import dataclass
from itertools import pairwise

import zstandard

MAGIC = b"SQPC"
VERSION = 8


@dataclass
class Sidecar:
    body_size: int
    page_size: int
    db_tag: str
    pagenos: list[int]
    stored_pages: list[bytes]
    chain_heads: list[int]
    chains: list[list[int]]
    frame: bytes


def parse(data: bytes) -> Sidecar:
    assert data[0:4] == MAGIC, f"magic {data[0:4]!r}"
    assert data[4] == VERSION, f"version {data[4]}"
    (body_size,) = struct.unpack_from("<Q", data, 5)
    (page_size,) = struct.unpack_from("<I", data, 13)
    assert page_size >= 512 and page_size <= 65536 and page_size & (page_size - 1) == 0
    tag_len = data[17]
    db_tag = data[18 : 18 + tag_len].decode("utf-8")
    frame = data[18 + tag_len :]
    body = zstandard.ZstdDecompressor().decompress(frame)
    assert body_size in (0, len(body)), f"body_size {body_size} != {len(body)}"

    at = 0

    def u32() -> int:
        nonlocal at
        (v,) = struct.unpack_from("<I", body, at)
        at += 4
        return v

    n = u32()
    pagenos = [u32() for _ in range(n)]
    offsets = [u32() for _ in range(n + 1)]
    c = u32()
    heads = [u32() for _ in range(c)]
    chain_offsets = [u32() for _ in range(c + 1)]
    m = chain_offsets[c] if c else chain_offsets[0]
    chain_pages = [u32() for _ in range(m)]
    blob = body[at:]
    assert all(a < b for a, b in pairwise(pagenos)), "pagenos not strictly ascending"
    assert all(a < b for a, b in pairwise(heads)), "chain heads not strictly ascending"
    assert offsets[0] == 0 and offsets[-1] == len(blob), "page offsets do not span the blob"
    assert chain_offsets[0] == 0 and all(a < b for a, b in pairwise(chain_offsets))
    stored = [blob[offsets[i] : offsets[i + 1]] for i in range(n)]
    chains = [chain_pages[chain_offsets[i] : chain_offsets[i + 1]] for i in range(c)]
    return Sidecar(body_size, page_size, db_tag, pagenos, stored, heads, chains, frame)


def frame_has_checksum(frame: bytes) -> bool:
    """Content_Checksum_flag: bit 2 of the zstd frame header descriptor (after the 4-byte magic)."""
    assert frame[0:4] == b"\x28\xb5\x2f\xfd"
    return bool((frame[4] >> 2) & 1)


def _gap(page: bytes, pgno: int) -> tuple[int, int] | None:
    base = 100 if pgno == 1 else 0
    t = page[base]
    if t in (2, 5):
        hdr = 12
    elif t in (10, 13):
        hdr = 8
    else:
        return None
    n_cells = int.from_bytes(page[base + 3 : base + 5], "big")
    cca = int.from_bytes(page[base + 5 : base + 7], "big") or 65536
    return base + hdr + 2 * n_cells, cca


def strip(page: bytes, pgno: int) -> bytes:
    g = _gap(page, pgno)
    if g is None:
        return page
    cpa_end, cca = g
    return page[:cpa_end] + page[cca:]


def reconstruct(stored: bytes, pgno: int, page_size: int) -> bytes:
    if len(stored) == page_size:
        return stored
    base = 100 if pgno == 1 else 0
    hdr = 12 if stored[base] in (2, 5) else 8
    n_cells = int.from_bytes(stored[base + 3 : base + 5], "big")
    cpa_end = base + hdr + 2 * n_cells
    return stored[:cpa_end] + bytes(page_size - len(stored)) + stored[cpa_end:]


def expected_from_dbstat(db_path: str) -> tuple[list[int], dict[int, list[int]]]:
    """Selected pages and overflow chains exactly as the reference derives them from dbstat."""
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        selected = sorted(
            {
                r[0]
                for r in con.execute(
                    "SELECT pageno FROM dbstat WHERE pagetype = 'internal' "
                    "OR name IN ('sqlite_master', 'sqlite_schema')"
                )
            }
        )
        overflow = [r[0] for r in con.execute("SELECT pageno FROM dbstat WHERE pagetype = 'overflow'")]
    finally:
        con.close()
    page_size = read_page_size(db_path)
    with open(db_path, "rb") as f:
        data = f.read()
    succ = {}
    for p in overflow:
        nxt = int.from_bytes(data[(p - 1) * page_size : (p - 1) * page_size + 4], "big")
        succ[p] = nxt
    referenced = {n for n in succ.values() if n}
    chains: dict[int, list[int]] = {}
    for head in sorted(set(overflow) - referenced):
        chain, seen, p = [], set(), head
        while p and p not in seen:
            seen.add(p)
            chain.append(p)
            p = succ.get(p, 0)
        chains[head] = chain
    return selected, chains


def read_page_size(db_path: str) -> int:
    with open(db_path, "rb") as f:
        header = f.read(100)
    raw = int.from_bytes(header[16:18], "big")
    return 65536 if raw == 1 else raw


def check_against_db(sidecar: Sidecar, db_path: str) -> None:
    """The sidecar holds exactly the reference's page selection and chains, and every stored page
    reconstructs to the database page with only its unallocated gap zeroed."""
    page_size = read_page_size(db_path)
    assert sidecar.page_size == page_size
    selected, chains = expected_from_dbstat(db_path)
    assert sidecar.pagenos == selected, (sidecar.pagenos[:10], selected[:10])
    assert dict(zip(sidecar.chain_heads, sidecar.chains, strict=True)) == chains
    with open(db_path, "rb") as f:
        data = f.read()
    for pgno, stored in zip(sidecar.pagenos, sidecar.stored_pages, strict=True):
        real = data[(pgno - 1) * page_size : pgno * page_size]
        assert stored == strip(real, pgno), f"page {pgno} stored bytes differ"
        rebuilt = reconstruct(stored, pgno, page_size)
        g = _gap(real, pgno)
        if g:
            cpa_end, cca = g
            assert rebuilt[:cpa_end] == real[:cpa_end] and rebuilt[cca:] == real[cca:]
            assert rebuilt[cpa_end:cca] == bytes(cca - cpa_end)
        else:
            assert rebuilt == real


def build(db_path: str, db_tag: str) -> bytes:
    """A v8 sidecar for `db_path`, bound to `db_tag`, produced the reference's way (dbstat)."""
    page_size = read_page_size(db_path)
    selected, chains = expected_from_dbstat(db_path)
    with open(db_path, "rb") as f:
        data = f.read()
    stored = [strip(data[(p - 1) * page_size : p * page_size], p) for p in selected]
    heads = sorted(chains)
    out = [struct.pack("<I", len(selected))]
    out += [struct.pack("<I", p) for p in selected]
    off = 0
    out.append(struct.pack("<I", 0))
    for s in stored:
        off += len(s)
        out.append(struct.pack("<I", off))
    out.append(struct.pack("<I", len(heads)))
    out += [struct.pack("<I", h) for h in heads]
    coff = 0
    out.append(struct.pack("<I", 0))
    for h in heads:
        coff += len(chains[h])
        out.append(struct.pack("<I", coff))
    for h in heads:
        out += [struct.pack("<I", p) for p in chains[h]]
    body = b"".join(out) + b"".join(stored)
    frame = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(body)
    tag = db_tag.encode("utf-8")
    if len(tag) > 255:
        tag = b""
    return MAGIC + bytes([VERSION]) + struct.pack("<QI", len(body), page_size) + bytes([len(tag)]) + tag + frame
