"""Keys from notebook paths: normalised, never escaping their prefix."""

from __future__ import annotations

import pytest

from bookstore.errors import InvalidPath
from bookstore.keys import s3_display_path, s3_key, s3_path


@pytest.mark.parametrize(
    ("prefix", "path", "key"),
    [
        ("workspace", "notebooks/mine.ipynb", "workspace/notebooks/mine.ipynb"),
        ("/workspace/", "/notebooks/mine.ipynb", "workspace/notebooks/mine.ipynb"),
        ("workspace/kylek", "mine.ipynb", "workspace/kylek/mine.ipynb"),
        ("", "a.ipynb", "a.ipynb"),
        ("published", "", "published"),
        ("published", "dossier été/naïve (1).ipynb", "published/dossier été/naïve (1).ipynb"),
    ],
)
def test_s3_key(prefix: str, path: str, key: str) -> None:
    assert s3_key(prefix, path) == key


@pytest.mark.parametrize(
    "path",
    [
        "../secret.ipynb",
        "a/../../b.ipynb",
        "a/./b.ipynb",
        "a//b.ipynb",
        "a\\..\\b.ipynb",
        "a\x00b.ipynb",
        "line\nbreak.ipynb",
        "x" * 1100,
    ],
)
def test_s3_key_refuses_escaping_or_odd_paths(path: str) -> None:
    with pytest.raises(InvalidPath):
        s3_key("workspace", path)


@pytest.mark.parametrize("prefix", ["../up", "a//b", "a/./b"])
def test_s3_key_refuses_bad_prefixes(prefix: str) -> None:
    with pytest.raises(InvalidPath, match="prefix"):
        s3_key(prefix, "a.ipynb")


def test_keys_never_start_with_slash_or_hold_double_slashes() -> None:
    for prefix in ("/", "//", "published/"):
        for path in ("/a.ipynb", "b/c.ipynb/", "/"):
            key = s3_key(prefix, path)
            assert not key.startswith("/")
            assert "//" not in key
            assert ".." not in key.split("/")


def test_invalid_path_is_a_value_error_with_a_readable_message() -> None:
    with pytest.raises(ValueError, match=r"may not contain '\.\.'"):
        s3_key("workspace", "../x.ipynb")


def test_s3_path_and_display_path() -> None:
    assert s3_path("bucket", "published", "a/b.ipynb") == "bucket/published/a/b.ipynb"
    assert s3_display_path("bucket", "published", "a/b.ipynb") == "s3://bucket/published/a/b.ipynb"
    assert s3_display_path("bucket", "", "") == "s3://bucket"
