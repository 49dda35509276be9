"""``GET /api/bookstore/publish/{path}?optional=true``: "is this published?" without a 404,
and without the warnings a 404 writes in the server's log."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bookstore.server.app import BookstoreApp
from tests.server_fixtures import both_backends

pytestmark = both_backends


class Records(logging.Handler):
    """The log records of the server, its extension, tornado and the root logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def warnings(self) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= logging.WARNING]


@pytest.fixture
def server_log(jp_serverapp: Any, bookstore_app: BookstoreApp) -> Iterator[Records]:
    handler = Records()
    loggers = {
        jp_serverapp.log,
        bookstore_app.log,
        logging.getLogger(),
        logging.getLogger("tornado.access"),
        logging.getLogger("tornado.application"),
        logging.getLogger("tornado.general"),
    }
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


async def test_not_published_is_an_answer(fetch_json: Any, server_log: Records) -> None:
    # Without optional: the 2.x behaviour, a 404 (and its warnings: bookstore's error line,
    # Jupyter's "wrote error" and its access log line for a 4xx).
    status, reply = await fetch_json("api/bookstore/publish/team/never.ipynb")
    assert status == 404, reply
    assert "is not published" in reply["message"]
    assert len(server_log.warnings()) == 3, server_log.warnings()

    server_log.records.clear()
    for flag in ("true", "1", "yes"):
        status, reply = await fetch_json(
            "api/bookstore/publish/team/never.ipynb", params={"optional": flag}
        )
        assert (status, reply) == (200, {"published": False, "path": "team/never.ipynb"})
    assert server_log.warnings() == []
    assert any("never.ipynb" in r.getMessage() for r in server_log.records)  # debug access log


async def test_published_says_so(fetch_json: Any, server_log: Records) -> None:
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
    body = {"type": "notebook", "content": notebook}
    status, published = await fetch_json("api/bookstore/publish/p.ipynb", method="PUT", body=body)
    assert status == 200, published
    status, described = await fetch_json("api/bookstore/publish/p.ipynb")
    assert status == 200
    assert "published" not in described  # unchanged without optional
    status, optional = await fetch_json("api/bookstore/publish/p.ipynb", params={"optional": "1"})
    assert status == 200
    assert optional == {**described, "published": True}
    assert optional["versionID"] == published["versionID"]
    # Unpublished since: not published again.
    status, _ = await fetch_json("api/bookstore/publish/p.ipynb", method="DELETE")
    assert status == 204
    status, gone = await fetch_json("api/bookstore/publish/p.ipynb", params={"optional": "1"})
    assert (status, gone) == (200, {"published": False, "path": "p.ipynb"})
    assert server_log.warnings() == []


async def test_still_refused_when_malformed(fetch_json: Any) -> None:
    status, reply = await fetch_json("api/bookstore/publish/notes.txt", params={"optional": "1"})
    assert status in (400, 415), reply
    status, reply = await fetch_json("api/bookstore/publish/p.ipynb", params={"optional": "maybe"})
    assert status == 400, reply
    assert "'optional'" in reply["message"]
