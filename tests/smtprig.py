"""A real SMTP server and a real webhook receiver for the tests of run notifications.

Loaded as a pytest plugin (``tests.smtprig``).  It provides

* :class:`SmtpRig`, aiosmtpd's SMTP server on ``127.0.0.1`` and a free port, keeping every
  message it accepts (:class:`ReceivedMail`); usable on its own
  (``with SmtpRig(users={"ada": "secret"}) as smtp: ...`` for one that wants a login);
* :class:`WebhookRig`, a stdlib HTTP server on ``127.0.0.1`` and a free port keeping every
  POST (:class:`ReceivedRequest`); :meth:`WebhookRig.fail_next` makes it answer 500;
* the fixtures ``smtp_server`` and ``webhook_server``, one started rig per test.

Both collect in a list guarded by a :class:`threading.Condition`: ``wait_for(predicate)``
waits until ``predicate(items)`` holds (never a fixed sleep) and fails with what arrived.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Generic, TypeVar

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

__all__ = [
    "HOST",
    "ReceivedMail",
    "ReceivedRequest",
    "SmtpRig",
    "WebhookRig",
    "free_port",
    "smtp_server",
    "webhook_server",
]

HOST = "127.0.0.1"
T = TypeVar("T")


def free_port() -> int:
    """A port of ``127.0.0.1`` nothing listens on (at the time of asking)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class _Collected(Generic[T]):
    """A thread-safe list that can be waited on."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._items: list[T] = []
        self._condition = threading.Condition()

    def add(self, item: T) -> None:
        with self._condition:
            self._items.append(item)
            self._condition.notify_all()

    def snapshot(self) -> list[T]:
        with self._condition:
            return list(self._items)

    def wait_for(self, predicate: Callable[[list[T]], bool], timeout: float) -> list[T]:
        with self._condition:
            if self._condition.wait_for(lambda: predicate(list(self._items)), timeout):
                return list(self._items)
            got = list(self._items)
        raise AssertionError(
            f"timed out after {timeout} s waiting for {self._what}; received {len(got)}: {got!r}"
        )


@dataclass(frozen=True)
class ReceivedMail:
    """A message the SMTP server accepted, with its envelope: ``message`` is parsed with
    ``\\n`` line ends, ``raw`` the bytes as they came (``\\r\\n``)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes

    def __repr__(self) -> str:
        return (
            f"ReceivedMail(from={self.mail_from!r}, to={list(self.rcpt_tos)!r}, "
            f"subject={self.message['Subject']!r}, message_id={self.message['Message-ID']!r})"
        )


class _MailHandler:
    def __init__(self, collected: _Collected[ReceivedMail]) -> None:
        self.collected = collected

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        data = content if isinstance(content, bytes) else str(content).encode()
        text = data.replace(b"\r\n", b"\n")
        parsed = BytesParser(policy=policy.default).parsebytes(text)
        mail_from = str(envelope.mail_from)
        self.collected.add(ReceivedMail(mail_from, tuple(envelope.rcpt_tos), parsed, data))
        return "250 OK"


class SmtpRig:
    """aiosmtpd's SMTP server on ``127.0.0.1``; with ``users`` (name: password) it offers
    AUTH over plain text and accepts those logins only (nothing else checks them)."""

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.host = HOST
        self.port = free_port()
        self.users = dict(users or {})
        self._collected: _Collected[ReceivedMail] = _Collected("mail")
        self.logins: list[str] = []
        kwargs: dict[str, Any] = {}
        if users is not None:
            kwargs = {"authenticator": self._authenticate, "auth_require_tls": False}
        self._controller = Controller(
            _MailHandler(self._collected), hostname=HOST, port=self.port, **kwargs
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            if self.users.get(login) == auth_data.password.decode():
                self.logins.append(login)
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    @property
    def messages(self) -> list[ReceivedMail]:
        """What arrived so far (a copy)."""
        return self._collected.snapshot()

    def wait_for(
        self, predicate: Callable[[list[ReceivedMail]], bool], timeout: float = 10.0
    ) -> list[ReceivedMail]:
        """The messages once ``predicate(messages)`` holds; AssertionError after ``timeout``."""
        return self._collected.wait_for(predicate, timeout)

    def start(self) -> SmtpRig:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpRig:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass(frozen=True)
class ReceivedRequest:
    """A POST the webhook server got: its path, headers, JSON body (None when the body was
    not JSON), raw body and the status it was answered with."""

    path: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    status: int


class WebhookRig:
    """A stdlib HTTP server on ``127.0.0.1`` answering every POST 200 (or 500, see
    :meth:`fail_next`) and keeping it."""

    def __init__(self) -> None:
        self._collected: _Collected[ReceivedRequest] = _Collected("webhook requests")
        self._lock = threading.Lock()
        self._failures: list[int] = []
        rig = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body: Any = json.loads(raw)
                except ValueError:
                    body = None
                status = rig._next_status()
                headers = {name.lower(): value for name, value in self.headers.items()}
                # Kept before the answer: the sender sees it once its request returns.
                rig._collected.add(ReceivedRequest(self.path, headers, body, raw, status))
                answer = b'{"ok": true}' if status < 300 else b'{"ok": false}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((HOST, 0), Handler)
        self._server.daemon_threads = True
        self.host = HOST
        self.port = int(self._server.server_address[1])
        self.url = f"http://{HOST}:{self.port}/hook"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # how long shutdown() may wait
            name="webhook-rig",
            daemon=True,
        )

    def _next_status(self) -> int:
        with self._lock:
            return self._failures.pop(0) if self._failures else 200

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        """Answer the next ``count`` requests with ``status`` (then 200 again)."""
        with self._lock:
            self._failures.extend([status] * count)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """What arrived so far (a copy)."""
        return self._collected.snapshot()

    def wait_for(
        self, predicate: Callable[[list[ReceivedRequest]], bool], timeout: float = 10.0
    ) -> list[ReceivedRequest]:
        """The requests once ``predicate(requests)`` holds; AssertionError after ``timeout``."""
        return self._collected.wait_for(predicate, timeout)

    def start(self) -> WebhookRig:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> WebhookRig:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpRig]:
    """A started SMTP server without login, stopped after the test."""
    with SmtpRig() as rig:
        yield rig


@pytest.fixture
def webhook_server() -> Iterator[WebhookRig]:
    """A started webhook receiver at ``.url``, stopped after the test."""
    with WebhookRig() as rig:
        yield rig
