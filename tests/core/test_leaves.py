"""The leaf modules: errors and their statuses, page tokens, the timestamp format, and the
one place that decides whether a prefix is usable."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from bookstore import errors
from bookstore.config import BookstoreSettings, validate_bookstore
from bookstore.core.areas import StoreAreas
from bookstore.errors import InvalidPath, NotAllowed, WorkspaceError, status_for
from bookstore.keys import published_key_prefix, workspace_key_prefix
from bookstore.stores.base import ObjectStore
from bookstore.timestamps import format_epoch, format_timestamp, json_default, to_millisecond
from bookstore.tokens import INVALID_TOKEN, decode_token, encode_token, parse_limit

STATUSES = {
    "BookstoreError": 500,
    "InvalidPath": 400,
    "InvalidRequest": 400,
    "DocumentTooDeep": 400,
    "DiffTooLarge": 413,
    "UnsupportedContent": 415,
    "InvalidNotebook": 422,
    "NotAllowed": 403,
    "Conflict": 409,
    "StoreError": 500,
    "ObjectNotFound": 404,
    "VersionNotFound": 404,
    "BucketNotFound": 503,
    "AccessDenied": 503,
    "StoreUnavailable": 503,
}


@pytest.mark.parametrize(("name", "status"), sorted(STATUSES.items()))
def test_each_error_class_carries_its_status(name: str, status: int) -> None:
    error = getattr(errors, name)("what went wrong")
    assert status_for(error) == status == type(error).http_status


def test_every_error_class_has_a_status() -> None:
    classes = {name for name in errors.__all__ if name[0].isupper()}
    assert classes == {*STATUSES, "WorkspaceError"}


def test_a_workspace_error_keeps_the_status_jupyter_gave() -> None:
    assert status_for(WorkspaceError("no such folder", 404)) == 404


# -- page tokens -------------------------------------------------------------------------


def test_a_token_carries_its_fields() -> None:
    fields = {"r": ["reports/", "q"], "t": None, "n": 3, "p": "dossier/été.ipynb"}
    token = encode_token(fields)
    assert token.isascii()
    assert not set(token) & set("=/+")
    assert decode_token(token) == fields


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not base64!",
        "x" * 9000,
        base64.urlsafe_b64encode(b"[1, 2]").decode(),  # JSON, but not an object
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),  # not UTF-8
        base64.urlsafe_b64encode(b"{" * 5000).decode()[:8000],
        "é",
        None,
    ],
)
def test_anything_else_is_refused_as_a_client_error(token: object) -> None:
    with pytest.raises(InvalidPath, match=INVALID_TOKEN):
        decode_token(token)


@pytest.mark.parametrize(("given", "limit"), [(None, 20), ("", 20), ("1", 1), ("1000", 1000)])
def test_page_sizes(given: str | None, limit: int) -> None:
    assert parse_limit(given, 20) == limit


@pytest.mark.parametrize("given", ["0", "1001", "-1", "ten", "1.5"])
def test_bad_page_sizes(given: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="'limit' must be an integer from 1 to 1000"):
        parse_limit(given, 20)


# -- timestamps --------------------------------------------------------------------------


def test_one_timestamp_format() -> None:
    moment = datetime(2026, 5, 1, 12, 0, 3, 500_999, tzinfo=timezone.utc)
    assert format_timestamp(moment) == "2026-05-01T12:00:03.500Z"
    assert format_timestamp(moment.replace(microsecond=0)) == "2026-05-01T12:00:03.000Z"
    # Naive times are UTC; other zones are converted.
    assert format_timestamp(moment.replace(tzinfo=None)) == "2026-05-01T12:00:03.500Z"
    paris = timezone(timedelta(hours=2))
    assert format_timestamp(moment.astimezone(paris)) == "2026-05-01T12:00:03.500Z"
    assert format_epoch(0) == "1970-01-01T00:00:00.000Z"
    assert json_default(moment) == "2026-05-01T12:00:03.500Z"
    with pytest.raises(TypeError):
        json_default(object())


def test_string_order_is_time_order() -> None:
    start = datetime(2026, 12, 31, 23, 59, 58, tzinfo=timezone.utc)
    moments = [start + timedelta(microseconds=n * 333_333) for n in range(12)]
    texts = [format_timestamp(moment) for moment in moments]
    assert sorted(texts) == texts
    assert texts[-1].startswith("2027-01-01T")


def test_to_millisecond_is_what_the_format_shows() -> None:
    moment = datetime(2026, 1, 1, 0, 0, 0, 123_999, tzinfo=timezone.utc)
    assert to_millisecond(moment).microsecond == 123_000
    assert format_timestamp(to_millisecond(moment)) == format_timestamp(moment)


# -- the prefixes, decided once ------------------------------------------------------------


def test_workspace_prefix_of_a_user() -> None:
    assert workspace_key_prefix("workspace/{username}", "ada") == "workspace/ada"
    assert workspace_key_prefix("/team/", "ada") == "team"


@pytest.mark.parametrize(
    ("template", "username", "reason"),
    [
        ("", "ada", "is empty"),
        ("/", "ada", "is empty"),
        ("workspace/{username}", "a/b", "cannot be used in a key"),
        ("workspace/{username}", "..", "cannot be used in a key"),
        ("a/../b", "ada", "'..' segments"),
        ("a//b", "ada", "empty segment"),
    ],
)
def test_unusable_workspace_prefixes(template: str, username: str, reason: str) -> None:
    with pytest.raises(NotAllowed, match=f"Workspace history is off: .*{reason}"):
        workspace_key_prefix(template, username)


@pytest.mark.parametrize(
    ("template", "username"),
    [("{username}", "published"), ("published/{username}", "ada"), ("pub", "x")],
)
def test_a_workspace_prefix_overlapping_the_published_one_is_off(
    template: str, username: str
) -> None:
    published = "pub" if template == "pub" else "published"
    with pytest.raises(NotAllowed, match=r"Workspace history is off: .* overlaps"):
        workspace_key_prefix(template, username, published)
    # by whole segments only
    assert workspace_key_prefix("published-drafts/{username}", "ada", "published")


@pytest.mark.parametrize("prefix", ["", "a/../b", "x\\y"])
def test_unusable_published_prefixes(prefix: str) -> None:
    with pytest.raises(NotAllowed, match="Publishing is off"):
        published_key_prefix(prefix)


@pytest.mark.parametrize(
    ("workspace", "published", "username"),
    [
        ("workspace/{username}", "published", "ada"),
        ("workspace/{username}", "", "ada"),
        ("", "published", "ada"),
        ("workspace/{username}", "published", "a/b"),  # a user name no key can hold
        ("ws/../x", "pub/../x", "ada"),
    ],
)
def test_the_feature_flags_and_the_areas_agree(
    workspace: str, published: str, username: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTERHUB_USER", username)
    settings = BookstoreSettings(
        s3_bucket="b", workspace_prefix=workspace, published_prefix=published
    )

    async def no_store() -> ObjectStore:
        raise AssertionError("no store needed")

    areas = StoreAreas(settings, no_store)
    flags = validate_bookstore(settings)
    for area, flag in (("workspace", "history_valid"), ("published", "publish_valid")):
        try:
            areas.key_prefix(area)
            usable = True
        except NotAllowed:
            usable = False
        assert flags[flag] is usable, (area, flags)


def test_a_server_whose_user_cannot_be_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container's user id without a passwd entry (getpass raises): a prefix without
    ``{username}`` still works, one with it is off, saying what to set."""
    import getpass

    from bookstore.keys import server_username

    def unknown() -> str:
        raise KeyError("getpwuid(): uid not found: 12345")

    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    monkeypatch.setattr(getpass, "getuser", unknown)
    assert server_username() == ""
    assert workspace_key_prefix("team", server_username()) == "team"
    with pytest.raises(NotAllowed, match="set JUPYTERHUB_USER"):
        workspace_key_prefix("workspace/{username}", server_username())
    flags = validate_bookstore(BookstoreSettings(s3_bucket="b"))  # default "workspace"
    assert flags["history_valid"] is True
