"""Hypothesis strategies for malformed HTTP input, and the checks every bookstore reply
must pass (used by ``tests/api/test_fuzz.py``).

The strategies build *raw* request parts (an already percent-encoded URL path, a raw
query string, body bytes, header values) so that the fuzz tests can send what a real
client could send, including what ``jp_fetch`` would escape for us: bare ``%``, invalid
UTF-8 escapes, ``..`` segments, NUL, lone surrogates inside JSON strings, …
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

__all__ = [
    "JSON_ROUTE_FIELDS",
    "bodies",
    "check_reply",
    "clone_objects",
    "field_values",
    "fs_clone_objects",
    "headers",
    "history_queries",
    "json_values",
    "notebook_bodies",
    "page_tokens",
    "path_texts",
    "publish_objects",
    "queries",
    "raw_url_paths",
    "reply_summary",
    "version_ids",
]

#: Lone surrogates: valid in a JSON string escape, never encodable as UTF-8.
SURROGATES = ("\ud800", "\udbff", "\udc80", "\udfff")

#: Pieces of paths that have broken path handling somewhere, some time.
PATH_ATOMS = (
    "",
    ".",
    "..",
    "...",
    "/",
    "//",
    "\\",
    "..\\",
    "%",
    "%2e%2e",
    "%2F",
    "%00",
    "\x00",
    "\x01",
    "\x1f",
    "\x7f",
    "\t",
    "\n",
    " ",
    "~",
    "~root",
    "$HOME",
    "*",
    "?",
    "#",
    "&",
    "=",
    "+",
    ";",
    ":",
    "%s",
    "%(x)s",
    "{}",
    "{0}",
    "<script>",
    "é",
    "日本語",
    "\u202e",
    "\ufeff",
    "\U0001f600",
    ".ipynb",
    ".IPYNB",
    "x.ipynb",
    ".hidden",
    ".ipynb_checkpoints",
    "CON",
    "a" * 255,
    "a" * 256,
    "é" * 128,
    # Names that exist in the fuzz fixtures (the fs-clone base dir and the store).
    "nb.ipynb",
    "notes.txt",
    "blob.bin",
    "broken.ipynb",
    "empty.txt",
    "sub",
    "sub/deep.ipynb",
    "escape.txt",
    "escape-dir",
    "passwd",
    "loop",
    "t",
    "published",
    "workspace",
    "x.ipynb",
    "note.txt",
)

#: Raw (already URL-encoded) pieces: malformed and tricky percent-escapes.
RAW_ESCAPES = (
    "%",
    "%2",
    "%zz",
    "%ff",
    "%FE%FF",
    "%c0%af",
    "%c0%ae%c0%ae",
    "%ed%a0%80",
    "%f4%90%80%80",
    "%00",
    "%0a",
    "%0d%0a",
    "%2f",
    "%2F..%2F",
    "%2e%2e",
    "%2e",
    "%5c",
    "%25",
    "%252e%252e",
    "%u002e",
    "+",
    "%20",
    "%7f",
    "/",
    "//",
    "/../",
    "/./",
    "..",
    ";",
    ";x=y",
    ":",
    "@",
    "!",
    "$",
    "'",
    "(",
    ",",
    "*",
)


#: Longest URL path tail or query string generated: tornado's server drops connections whose
#: request line and headers exceed 64 KiB (``max_header_size``) before any handler runs.
MAX_URL_PART = 16_000


def _utf8(text: str) -> bytes:
    """``text`` as UTF-8, lone surrogates included (as the invalid bytes they would be)."""
    return text.encode("utf-8", "surrogatepass")


def _text(max_size: int = 12, *, surrogates: bool = False) -> st.SearchStrategy[str]:
    alphabet = st.characters(codec="utf-8")
    if surrogates:
        alphabet = alphabet | st.sampled_from(SURROGATES)
    return st.text(alphabet=alphabet, max_size=max_size)


def path_texts(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Decoded paths: joined atoms (``..``, ``//``, controls, names that exist…), random
    text and very long strings."""
    atom = st.sampled_from(PATH_ATOMS) | _text(surrogates=surrogates)
    if surrogates:
        atom = atom | st.sampled_from(SURROGATES)
    joined = st.tuples(
        st.lists(atom, max_size=8), st.sampled_from(["/", "/", "", "//", "\\", "/../"])
    ).map(lambda parts_sep: parts_sep[1].join(parts_sep[0]))
    long = st.tuples(
        st.sampled_from(["a", "é", "日", "../", "a/", "/", "%", "\U0001f600"]),
        st.integers(min_value=100, max_value=3000),
        st.sampled_from(["", ".ipynb", "/x.ipynb"]),
    ).map(lambda t: t[0] * t[1] + t[2])
    return st.one_of(
        joined,
        joined.map(lambda path: path + ".ipynb"),
        st.sampled_from(PATH_ATOMS),
        _text(max_size=40, surrogates=surrogates),
        long,
    )


def _encoded(texts: st.SearchStrategy[str], safe: str) -> st.SearchStrategy[str]:
    return texts.map(lambda text: quote(_utf8(text), safe=safe))


def raw_url_paths() -> st.SearchStrategy[str]:
    """A URL path tail as sent on the wire: percent-encoded text (invalid UTF-8 and
    encoded ``/`` included) mixed with raw malformed escapes and ``..`` segments."""
    piece = st.one_of(
        _encoded(path_texts(surrogates=True), safe="/"),
        _encoded(path_texts(), safe=""),
        _encoded(path_texts(), safe="/!$&'()*+,;=:@~"),
        st.sampled_from(RAW_ESCAPES),
    )
    return st.lists(piece, max_size=5).map(lambda pieces: "".join(pieces)[:MAX_URL_PART])


#: Query parameter names the routes read, plus near misses.
QUERY_KEYS = (
    "s3_bucket",
    "s3_key",
    "s3_version_id",
    "target_path",
    "relpath",
    "_xsrf",
    "",
    "s3_key[]",
    "S3_KEY",
    "relpath%00",
    "%ff",
)


def queries(values: Sequence[str] = ()) -> st.SearchStrategy[str | None]:
    """A raw query string (``None``: no ``?`` at all): missing, empty, repeated and
    bare keys, huge values, non-UTF-8 escapes.  ``values`` are meaningful decoded values
    (existing keys, versions…) to mix in."""
    key = st.sampled_from(QUERY_KEYS) | _encoded(_text(8), safe="")
    decoded = path_texts(surrogates=True)
    if values:
        decoded = st.sampled_from(list(values)) | decoded
    value = st.lists(
        _encoded(decoded, safe="") | _encoded(decoded, safe="/") | st.sampled_from(RAW_ESCAPES),
        min_size=1,
        max_size=4,
    ).map("".join)
    pair = st.one_of(
        st.tuples(key, value).map(lambda kv: f"{kv[0]}={kv[1]}"),
        key,
        st.tuples(key, value).map(lambda kv: f"{kv[0]}={kv[1]}={kv[1]}"),
    )
    separators = st.sampled_from(["&", "&", "&&", ";"])
    pairs = st.tuples(st.lists(pair, max_size=6), separators).map(lambda t: t[1].join(t[0]))
    repeated = st.tuples(pair, st.integers(min_value=20, max_value=300)).map(
        lambda t: "&".join([t[0][:80]] * t[1])
    )
    huge = st.tuples(
        st.sampled_from(QUERY_KEYS[:5]),
        st.sampled_from(["a", "%C3%A9", "%2F", "..%2F", "%"]),
        st.integers(min_value=500, max_value=6000),
    ).map(lambda t: f"{t[0]}={t[1] * t[2]}")
    return st.one_of(st.none(), st.just(""), pairs, repeated, huge).map(
        lambda query: query if query is None else query[:MAX_URL_PART]
    )


# -- history (bookstore/server/handlers/history.py) and checkpoints ---------------------

#: Decoded version ids that are not ids: traversal, separators, controls, non-ASCII,
#: words the routes give a meaning to, numbers, too long.
HOSTILE_IDS = (
    "",
    " ",
    ".",
    "..",
    "../..",
    "../../etc/passwd",
    "/",
    "a/b",
    "a b",
    "a\x00b",
    "\x00",
    "\t",
    "\n",
    "\x7f",
    "\\",
    "é",
    "日本語",
    "\u202e",
    "\ufeff",
    "\U0001f600",
    "null",
    "None",
    "latest",
    "current",
    "saving",
    "0",
    "-1",
    "1e9",
    "9" * 40,
    "%",
    "%2F",
    "%00",
    "'",
    '"',
    "<script>",
    "*",
    "?",
    "#",
    ";",
    "x" * 1024,
    "x" * 1025,
    "x" * 2000,
    "é" * 700,
)


def version_ids(known: Sequence[str] = ()) -> st.SearchStrategy[str]:
    """A version id as it appears in a URL path (already percent-encoded): hostile ids
    (encoded ``/``, spaces, NUL, non-ASCII, ``..``, 2000 characters, lone surrogates),
    ``known`` ids (real ones, of this file or another) and raw malformed escapes."""
    decoded = st.one_of(
        st.sampled_from(HOSTILE_IDS),
        _text(20, surrogates=True),
        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
    )
    if known:
        decoded = st.sampled_from(list(known)) | decoded
    return st.one_of(
        _encoded(decoded, safe=""),
        _encoded(decoded, safe=""),
        _encoded(decoded, safe="/"),
        st.sampled_from(RAW_ESCAPES),
        st.lists(st.sampled_from(RAW_ESCAPES) | _encoded(decoded, safe=""), max_size=3).map(
            "".join
        ),
    )


def _b64(raw: bytes) -> str:
    """URL-safe base64 without padding, as bookstore's page tokens are written."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


#: What a forged page token may name: traversal, absolute paths, another user's
#: workspace, the other area, controls, empty segments.
TOKEN_PATHS = (
    "../../etc",
    "../../etc/passwd",
    "..",
    "../other-user/workspace/x.ipynb",
    "../../other-user/workspace/secret.ipynb",
    "/etc/passwd",
    "//x.ipynb",
    "a//b.ipynb",
    "./x.ipynb",
    "x.ipynb/..",
    "\\x.ipynb",
    "x\x00.ipynb",
    "\ud800.ipynb",
    "",
    "/",
    "a" * 2000,
    "x.ipynb",
    "published/x.ipynb",
    "workspace/x.ipynb",
)


def page_tokens(
    paths: Sequence[str] = (),
    tokens: Sequence[str] = (),
    keys: Sequence[str] = (),
    prefixes: Sequence[str] = (),
) -> st.SearchStrategy[str]:
    """Decoded ``page_token`` values: ``tokens`` (issued by the server) as they are,
    truncated or altered; base64 of hostile JSON in the shape of a history token
    (``{"p", "t", "s", "e", "l"}``), of a catalog token (``{"t", "n"}``) and of an S3
    store token (``{"k", "v"}``) naming ``paths``/``keys`` (often another file's, or the
    right key ``{prefix}/{p}`` of one of ``prefixes`` with a hostile version marker);
    base64 of non-JSON; random text."""
    path = st.sampled_from(TOKEN_PATHS) | _text(20, surrogates=True)
    if paths:
        path = st.sampled_from(list(paths)) | path
    keys_or_paths = st.sampled_from(list(keys)) | path if keys else path
    hostile_id = st.sampled_from(HOSTILE_IDS) | _text(10, surrogates=True)
    store_token = st.one_of(
        st.none(),
        st.sampled_from(["", "0", "1", "-1", "9" * 30, "x", "null", "1.5", " 1", "\u0661"]),
        st.tuples(keys_or_paths, st.sampled_from(["v", "", "null"]) | hostile_id).map(
            lambda t: _b64(json.dumps({"k": t[0], "v": t[1]}).encode())
        ),
        _text(30),
        json_values(max_leaves=2),
    )
    optional_text = st.none() | st.sampled_from(["", "v", "x" * 2000]) | json_values(max_leaves=2)
    link = st.tuples(path, hostile_id | st.sampled_from(["v", "x" * 30])).map(list)
    segment = st.fixed_dictionaries(
        {},
        optional={
            "p": path | json_values(max_leaves=2),
            "t": store_token,
            "s": optional_text | hostile_id,
            "e": optional_text,
            "l": st.none() | link | st.lists(path, max_size=3) | json_values(max_leaves=2),
        },
    )
    if paths and prefixes:
        # The S3 store token of the right key: the version marker is what is hostile.
        matching = st.tuples(
            st.sampled_from(list(paths)),
            st.sampled_from(list(prefixes)),
            hostile_id | st.sampled_from(["v", "null"]),
            st.none() | link,
        ).map(
            lambda t: {
                "p": t[0],
                "t": _b64(json.dumps({"k": f"{t[1]}/{t[0]}", "v": t[2]}).encode()),
                "s": None,
                "e": None,
                "l": t[3],
            }
        )
        segment = segment | matching
    catalog = st.fixed_dictionaries(
        {},
        optional={
            "t": store_token,
            "n": st.sampled_from([0, 1, -1, 999, 1000, 1001, 10**30, 1.5, "1", True, None])
            | json_values(max_leaves=1),
        },
    )
    forged = st.one_of(
        st.just({"p": "../../etc", "t": None, "s": None, "e": None, "l": None}),
        segment,
        segment,
        catalog,
        json_values(max_leaves=3),
    ).map(lambda value: _b64(json.dumps(value).encode()))
    garbage = st.one_of(
        st.binary(max_size=60).map(_b64),
        st.sampled_from(["", "=", "==", "a", "abc", "$$$", "%", "....", "eyJ", "eyJwIjo"]),
        _text(40, surrogates=True),
        st.integers(min_value=100, max_value=4000).map(lambda n: "A" * n),
    )
    strategies = [forged, forged, garbage]
    if tokens:
        real = st.sampled_from(list(tokens))
        strategies += [
            real,
            st.tuples(real, st.integers(min_value=0, max_value=200)).map(lambda t: t[0][: t[1]]),
            st.tuples(real, st.integers(min_value=0, max_value=200), _text(2)).map(
                lambda t: t[0][: t[1]] + t[2] + t[0][t[1] + 1 :]
            ),
            real.map(lambda token: token + "=="),
            real.map(lambda token: token * 2),
        ]
    return st.one_of(*strategies)


#: Query parameters of the history routes, Jupyter's own ``token``, and near misses.
HISTORY_QUERY_KEYS = (
    "limit",
    "page_token",
    "base",
    "remote",
    "content",
    "prefix",
    "q",
    "token",
    "Limit",
    "page_token[]",
    "base%00",
    "",
)

#: ``limit`` values: bounds, signs, other numerals, huge.
LIMITS = (
    "",
    "0",
    "1",
    "2",
    "1000",
    "1001",
    "-1",
    "1.5",
    "1e3",
    " 1",
    "1 ",
    "+1",
    "0x10",
    "\uff11",  # fullwidth 1: int() reads it
    "\u0661",  # Arabic-Indic 1: int() reads it
    "NaN",
    "inf",
    "None",
    "9" * 30,
    "9" * 5000,
)


def history_queries(
    ids: Sequence[str] = (),
    tokens: st.SearchStrategy[str] | None = None,
    values: Sequence[str] = (),
) -> st.SearchStrategy[str | None]:
    """A raw query string for the history routes: each parameter with values made for it
    (``limit`` bounds, hostile ``page_token`` from ``tokens``, ``base``/``remote`` refs and
    ``ids``, ``content`` flags, hostile ``prefix``/``q``), repeated, bare or encoded badly;
    sometimes any query of :func:`queries` instead."""
    refs = st.sampled_from(
        ["latest", "current", "LATEST", " latest", "", "null"]
    ) | st.sampled_from(HOSTILE_IDS)
    if ids:
        refs = st.sampled_from(list(ids)) | refs
    texts = path_texts(surrogates=True)
    if values:
        texts = st.sampled_from(list(values)) | texts
    by_key = {
        "limit": st.sampled_from(LIMITS),
        "page_token": tokens if tokens is not None else page_tokens(),
        "base": refs,
        "remote": refs,
        "content": st.sampled_from(["0", "1", "true", "false", "yes", "no", "", "2", "TRUE", "İ"]),
        "prefix": texts,
        "q": texts,
        "token": st.sampled_from(["", "wrong", "%"]),
    }

    def pair(key: str) -> st.SearchStrategy[str]:
        value = by_key.get(key, texts)
        encoded = st.one_of(
            _encoded(value, safe=""),
            _encoded(value, safe=""),
            _encoded(value, safe="/"),
            st.tuples(_encoded(value, safe=""), st.sampled_from(RAW_ESCAPES)).map("".join),
        )
        return st.one_of(encoded.map(lambda v: f"{key}={v}"), st.just(key))

    pairs = st.lists(st.sampled_from(HISTORY_QUERY_KEYS).flatmap(pair), max_size=5).map("&".join)
    return st.one_of(pairs, pairs, pairs, st.none(), queries(values)).map(
        lambda query: query if query is None else query[:MAX_URL_PART]
    )


def _header_text(max_size: int = 200) -> st.SearchStrategy[str]:
    """Header values tornado's client can send: printable Latin-1, no CR/LF."""
    return st.text(
        alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
        max_size=max_size,
    )


CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "text/html",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "application/x-ipynb+json",
    "",
    ";",
    "*/*",
)


def headers() -> st.SearchStrategy[dict[str, str]]:
    """Odd Content-Type, Accept, cookies and XSRF junk (never auth: the token is added by
    the caller, and the auth test handles credentials)."""
    return st.fixed_dictionaries(
        {},
        optional={
            "Content-Type": st.sampled_from(CONTENT_TYPES) | _header_text(60),
            "X-XSRFToken": _header_text(80),
            "X-Xsrftoken": st.just("2|00000000|00000000000000000000000000000000|0"),
            "Cookie": st.sampled_from(["_xsrf=junk", "_xsrf=", "username-127-0-0-1=junk", ";;"])
            | _header_text(120),
            "Accept": st.sampled_from(["application/json", "text/html", "*/*", "x/y;q=x"])
            | _header_text(40),
            "Accept-Encoding": st.sampled_from(["gzip", "br", "identity;q=0", "*;q=0"]),
            "Accept-Language": _header_text(40),
            "Referer": st.sampled_from(["http://evil.example/", "not a url", "http://127.0.0.1/"])
            | _header_text(60),
            "X-Requested-With": st.sampled_from(["XMLHttpRequest", ""]),
            "X-Forwarded-For": _header_text(40),
            "User-Agent": _header_text(60),
        },
    )


def json_values(
    strings: st.SearchStrategy[str] | None = None, *, max_leaves: int = 12
) -> st.SearchStrategy[Any]:
    """Any JSON value (NaN, infinities and huge integers included: Python's ``json``
    reads them)."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([0, -1, 2**63, -(2**63) - 1, 10**30]),
        st.floats(),
        strings if strings is not None else _text(20, surrogates=True),
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(_text(10, surrogates=True), children, max_size=4)
        ),
        max_leaves=max_leaves,
    )


def _cell_sources(strings: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return strings | st.lists(strings, max_size=3) | json_values(max_leaves=3)


def _valid_cells(strings: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
    """nbformat 4.5 cells (deterministic ids) whose text is ``strings``."""
    return st.tuples(
        st.sampled_from(["code", "markdown", "raw"]),
        strings | st.lists(strings, max_size=3),
        st.integers(min_value=0, max_value=10**6),
        st.lists(strings, max_size=2),
    ).map(
        lambda t: {
            "id": f"c{t[2]}",
            "cell_type": t[0],
            "metadata": {},
            "source": t[1],
            **(
                {
                    "execution_count": None,
                    "outputs": [{"output_type": "stream", "name": "stdout", "text": t[3]}],
                }
                if t[0] == "code"
                else {}
            ),
        }
    )


def _cells(strings: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    """Valid cells, cells with wrong or missing fields, and non-cells."""
    output = st.one_of(
        st.fixed_dictionaries(
            {"output_type": st.sampled_from(["stream", "display_data", "error", "bogus", 1])},
            optional={
                "name": strings,
                "text": _cell_sources(strings),
                "data": st.dictionaries(st.sampled_from(["text/plain", "text/html", "x"]), strings),
                "metadata": json_values(max_leaves=3),
                "ename": json_values(max_leaves=2),
                "traceback": st.lists(strings, max_size=2),
            },
        ),
        json_values(max_leaves=3),
    )
    broken = st.fixed_dictionaries(
        {"cell_type": st.sampled_from(["code", "markdown", "raw", "heading", "bogus", "", 1])},
        optional={
            "id": st.sampled_from(["a", "", "x" * 65, "bad id!", "ok-id"]) | json_values(),
            "source": _cell_sources(strings),
            "metadata": st.just({"trusted": True})
            | st.dictionaries(_text(8), json_values(max_leaves=3), max_size=3)
            | json_values(max_leaves=3),
            "outputs": st.lists(output, max_size=3) | json_values(max_leaves=3),
            "execution_count": st.none() | st.integers() | strings,
            "attachments": json_values(max_leaves=4),
        },
    )
    return st.one_of(_valid_cells(strings), broken, json_values(max_leaves=4))


def notebook_bodies(strings: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[Any]:
    """Notebook-shaped JSON objects: valid ones (strings with lone surrogates included:
    valid JSON, not encodable as UTF-8), broken cells, wrong versions and metadata."""
    if strings is None:
        strings = st.sampled_from(["", "x", "\ud800", "a\udfffb", "\x00", "é"]) | _text(
            30, surrogates=True
        )
    metadata = st.one_of(
        st.just({}),
        st.just({"signature": "sha256:0000", "orig_nbformat": 3}),
        st.dictionaries(
            st.sampled_from(["kernelspec", "language_info", "signature", "x", ""]),
            json_values(max_leaves=4),
            max_size=3,
        ),
        json_values(max_leaves=3),
    )
    valid = st.fixed_dictionaries(
        {
            "nbformat": st.just(4),
            "nbformat_minor": st.sampled_from([5, 5, 99, 10**30]),
            "metadata": st.just({})
            | st.dictionaries(_text(8, surrogates=True), json_values(max_leaves=3), max_size=2),
            "cells": st.lists(_valid_cells(strings), min_size=1, max_size=4),
        }
    )
    broken = st.fixed_dictionaries(
        {
            "nbformat": st.sampled_from([4, 4, 4, 3, 5, "4", 4.0, None, True, -1, 2**64]),
            "nbformat_minor": st.sampled_from([0, 4, 5, 99, -1, 10**30, "5", None, 4.5, False]),
            "metadata": metadata,
            "cells": st.lists(_cells(strings), max_size=4) | json_values(max_leaves=3),
        },
        optional={"extra": json_values(max_leaves=3)},
    )
    return st.one_of(valid, valid, broken, json_values(max_leaves=4))


#: Every field some JSON route reads.
JSON_ROUTE_FIELDS = (
    "s3_bucket",
    "s3_key",
    "s3_version_id",
    "target_path",
    "relpath",
    "type",
    "content",
    "version_id",
    "source_path",
)


def field_values(values: Sequence[str] = ()) -> st.SearchStrategy[Any]:
    """What a body field may hold: hostile paths (mostly), ``values`` (strings that name
    real things: keys, versions, files), and any JSON value."""
    strings = path_texts(surrogates=True)
    if values:
        strings = st.sampled_from(list(values)) | strings
    return st.one_of(strings, strings, strings, json_values(strings, max_leaves=4))


def _json_bytes(value: Any) -> bytes:
    # ``ensure_ascii`` keeps lone surrogates as ``\ud800`` escapes: valid JSON text.
    return json.dumps(value).encode()


def clone_objects(
    keys: Sequence[str] = (), values: Sequence[str] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """``POST /api/bookstore/clone`` bodies: each field present or not, of any shape;
    ``s3_key`` often one of ``keys`` (objects that exist) so that targets get written."""
    value = field_values(values)
    key = st.sampled_from(list(keys)) | value if keys else value
    return st.fixed_dictionaries(
        {},
        optional={
            "s3_key": key,
            "s3_bucket": value,
            "s3_version_id": value,
            "target_path": value,
            "relpath": value,
        },
    )


def fs_clone_objects(
    files: Sequence[str] = (), values: Sequence[str] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    """``POST /api/bookstore/fs-clone`` bodies; ``relpath`` often one of ``files``."""
    value = field_values(values)
    relpath = st.sampled_from(list(files)) | value if files else value
    return st.fixed_dictionaries({}, optional={"relpath": relpath, "target_path": value})


def publish_objects(values: Sequence[str] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """``PUT /api/bookstore/publish/{path}`` bodies: notebooks (valid and broken), archived
    versions with hostile ``source_path``, and mixtures."""
    value = field_values(values)
    notebook_paths = path_texts(surrogates=True).map(lambda path: path + ".ipynb")
    versions = st.sampled_from(list(values)) if values else _text(20)
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("notebook"), "content": notebook_bodies()}),
        st.fixed_dictionaries({"type": st.just("notebook"), "content": notebook_bodies()}),
        st.fixed_dictionaries(
            {
                "type": st.sampled_from(["file", "Notebook", "", "notebook "])
                | json_values(max_leaves=2),
                "content": notebook_bodies(),
            }
        ),
        st.fixed_dictionaries(
            {"version_id": versions | value}, optional={"source_path": notebook_paths | value}
        ),
        st.fixed_dictionaries(
            {},
            optional={
                "type": st.sampled_from(["notebook", "file"]),
                "content": value,
                "version_id": value,
                "source_path": value,
            },
        ),
    )


def bodies(
    objects: st.SearchStrategy[dict[str, Any]] | None = None,
) -> st.SearchStrategy[bytes]:
    """Request bodies: the route's ``objects`` (as JSON), random bytes and text, invalid,
    deeply nested and huge JSON, any JSON value."""
    nested = st.tuples(
        st.sampled_from([("[", "]"), ('{"a":', "}"), ('{"s3_key":[', "]}")]),
        st.integers(min_value=1, max_value=200_000),
    ).map(lambda t: (t[0][0] * t[1] + "1" + t[0][1] * t[1]).encode())
    invalid_json = st.sampled_from(
        [
            b"",
            b" ",
            b"{",
            b"}",
            b"[",
            b"{'s3_key': 'x'}",
            b'{"s3_key": "x",}',
            b'{"s3_key": "x"} trailing',
            b'{"relpath": "\\ud800"}',
            b'{"a": 1' + b"}" * 3,
            b"\xef\xbb\xbf{}",
            b"\xff\xfe{\x00}\x00",
            b"\x00",
            b"NaN",
            b"-Infinity",
            b"1" * 5000,
            b'"' + b"\\u" * 10 + b'"',
            b'{"s3_key": "a\x00b"}',
            b'{"s3_key": "\xed\xa0\x80"}',
        ]
    )
    huge = st.tuples(
        st.sampled_from(list(JSON_ROUTE_FIELDS)),
        st.sampled_from(["a", "\u00e9", "../", "\\ud800", "\\u0000"]),
        st.integers(min_value=1000, max_value=300_000),
    ).map(lambda t: f'{{"{t[0]}": "{t[1] * t[2]}"}}'.encode())
    generic = st.one_of(
        json_values().map(_json_bytes),
        st.binary(max_size=300),
        _text(200, surrogates=True).map(_utf8),
        invalid_json,
        nested,
        huge,
    )
    if objects is None:
        return generic
    encoded = objects.map(_json_bytes)
    return st.one_of(encoded, encoded, encoded, generic)


# -- checks on replies ---------------------------------------------------------------

_ERROR_MESSAGE = re.compile(r'<p class="error" role="alert" id="bookstore-error">(.*?)</p>', re.S)


def reply_summary(method: str, url: str, body: bytes | None, response: Any) -> str:
    """The request and reply, shortened, for an assertion message."""

    def short(value: Any, limit: int = 400) -> str:
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + f"… ({len(text)} chars)"

    return (
        f"\n  request: {method} {short(url)}\n  body: {short(body)}"
        f"\n  reply: {response.code} {short(response.headers.get('Content-Type'))}"
        f"\n  {short(response.body, 1500)}"
    )


def check_reply(
    response: Any,
    *,
    page: bool,
    forbidden: Iterable[str],
    method: str,
    summary: str,
    contents: bool = False,
) -> None:
    """Assert what every reply of a bookstore route must satisfy.

    * never a 5xx (and no dropped connection: tornado reports those as 599);
    * a success is 200 (JSON for the API, HTML for pages) or 204 for a DELETE (with
      ``contents``, a reply of Jupyter's contents API: also 201 for a created checkpoint,
      and a JSON list for a listing);
    * an error (4xx) is ``{"message": "<words>"}`` for the API, an HTML page with a
      non-empty message for the ``/bookstore/...`` pages;
    * no traceback and none of the ``forbidden`` strings (absolute server paths,
      content of files outside the fs-clone base) in any body.
    """
    code = response.code
    assert code < 500, f"server error{summary}"
    success = (200, 201, 204) if contents else (200, 204)
    assert code in success or 400 <= code < 500, f"unexpected status{summary}"
    raw = response.body or b""
    text = raw.decode("utf-8", "replace")
    assert "Traceback" not in text, f"traceback in the reply{summary}"
    for secret in forbidden:
        assert secret not in text, f"{secret!r} in the reply{summary}"
    if not raw and (method in ("HEAD", "OPTIONS") or code == 204):
        return  # no body to check (OPTIONS: the CORS preflight's empty 200)
    content_type = response.headers.get("Content-Type", "")
    if page:
        assert content_type.startswith("text/html"), f"a page is not HTML{summary}"
        if code >= 400:
            assert f"<h1>{code}:" in text, f"error page without its status{summary}"
            found = _ERROR_MESSAGE.search(text)
            assert found, f"error page without a message{summary}"
            assert found.group(1).strip(), f"error page with an empty message{summary}"
        return
    assert content_type.startswith("application/json"), f"API reply is not JSON{summary}"
    try:
        reply = json.loads(raw)
    except ValueError:
        raise AssertionError(f"API reply is not valid JSON{summary}") from None
    if code >= 400:
        assert isinstance(reply, dict), f"API error is not an object{summary}"
        message = reply.get("message")
        assert isinstance(message, str), f"API error without a message{summary}"
        assert message.strip(), f"API error with an empty message{summary}"
        assert not reply.get("traceback"), f"API error with a traceback{summary}"
    else:
        kinds = (dict, list) if contents else dict
        assert isinstance(reply, kinds), f"API success is not an object{summary}"
