"""Run notifications: what a run's ``notify`` targets are, and one delivery to one of them.

A target is an email address or an http(s) webhook (Slack's and Microsoft Teams' incoming
webhooks read the same payload), each with the events it wants (:data:`EVENTS`; by default
:data:`DEFAULT_EVENTS`).  :func:`send` makes one attempt and raises
:class:`NotificationFailed` when it did not get through.

Delivery is **at least once**: the runner's database claims each ``(run, event, target)``
once and sends a failed notification again later (see :mod:`.db` and :mod:`.runner`), so
a receiver may see one twice, for example when the answer to a delivered webhook was lost.
Every notification carries a ``dedup_key`` (``<run id>:<event>``), the same on every
attempt, in the ``X-Bookstore-Dedup-Key`` header of both kinds, in the webhook's JSON and
as the email's ``Message-ID``: the receiver de-duplicates by it.

This module belongs to the domain layer: no web framework; aiohttp for webhooks (imported
when one is sent) and the standard library's :mod:`smtplib`, in a thread, for email.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import re
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ...errors import BookstoreError, InvalidRequest

if TYPE_CHECKING:
    import aiohttp

__all__ = [
    "DEFAULT_EVENTS",
    "EVENTS",
    "MAX_TARGETS",
    "MailSettings",
    "Notification",
    "NotificationFailed",
    "NotifyTarget",
    "email_message",
    "message_id",
    "parse_targets",
    "send",
    "summary",
    "webhook_payload",
]

#: The events of a run a target can be told about.
EVENTS = ("started", "succeeded", "failed", "lost", "skipped", "too_slow")
#: The events of a target whose ``on`` is left out.
DEFAULT_EVENTS = frozenset({"failed", "lost", "too_slow"})
#: The most targets one run or schedule may have.
MAX_TARGETS = 20

#: Longest email address (RFC 5321's path limit) and webhook URL (the database's target
#: column holds the target's JSON in 600 characters).
_MAX_EMAIL = 254
_MAX_URL = 500
_TARGET_KEYS = ("email", "webhook", "on")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"[A-Za-z0-9!#$%&'*+/=?^_`{{|}}~.-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")
#: What ``summary`` says after "run of <path>" for each event.
_VERBS = {
    "started": "started",
    "succeeded": "succeeded",
    "failed": "failed",
    "lost": "was lost",
    "skipped": "was skipped",
    "too_slow": "is taking longer than expected",
}
#: Teams' ``themeColor`` (hex RGB) for each event.
_COLORS = {
    "started": "0078D4",
    "succeeded": "107C10",
    "failed": "D13438",
    "lost": "D13438",
    "skipped": "8A8886",
    "too_slow": "FFB900",
}
_SUMMARY_LIMIT = 300


class NotificationFailed(BookstoreError):
    """One delivery attempt did not get through; ``str(err)`` never holds a password or a
    webhook's secret path."""


@dataclass(frozen=True)
class NotifyTarget:
    """Where notifications of a run go: ``kind`` is ``"email"`` or ``"webhook"``,
    ``address`` an email address or an http(s) URL, ``events`` the events it wants."""

    kind: str
    address: str
    events: frozenset[str]

    def to_json(self) -> dict[str, Any]:
        """The target as a run or schedule stores and shows it (events sorted)."""
        return {self.kind: self.address, "on": sorted(self.events)}


def _show(value: Any) -> str:
    """``value`` for an error message, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def _check_email(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{field}: must be a string, not {_show(value)}")
    if len(value) > _MAX_EMAIL or not _EMAIL.fullmatch(value):
        raise InvalidRequest(f"{field}: {_show(value)} is not an email address")
    local = value.rpartition("@")[0]
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise InvalidRequest(f"{field}: {_show(value)} is not an email address")
    if email.utils.parseaddr(value)[1] != value:
        raise InvalidRequest(f"{field}: {_show(value)} is not an email address")
    return value


def _check_url(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidRequest(f"{field}: must be a string, not {_show(value)}")
    if len(value) > _MAX_URL:
        raise InvalidRequest(f"{field}: longer than {_MAX_URL} characters")
    if not value.isascii() or not value.isprintable() or " " in value or "\\" in value:
        raise InvalidRequest(f"{field}: {_show(value)} is not an http(s) URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (a port that is not a number raises ValueError)
    except ValueError:
        raise InvalidRequest(f"{field}: {_show(value)} is not an http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(f"{field}: {_show(value)} is not an http(s) URL")
    if "@" in parts.netloc:
        # Not echoed: it would put a password into the error (and the logs).
        raise InvalidRequest(f"{field}: a URL with a user name or password is not allowed")
    return value


def _check_events(field: str, value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        raise InvalidRequest(f"{field}: must be a list of events, not {_show(value)}")
    if not value:
        raise InvalidRequest(f"{field}: must list at least one of {', '.join(EVENTS)}")
    for event in value:
        if not isinstance(event, str) or event not in EVENTS:
            raise InvalidRequest(
                f"{field}: unknown event {_show(event)} (valid: {', '.join(EVENTS)})"
            )
    return frozenset(value)


def parse_targets(value: Any) -> list[NotifyTarget]:
    """The targets of a request's ``notify`` (None: none), each an object with exactly one
    of ``email`` or ``webhook`` and an optional ``on`` (a list of :data:`EVENTS`).

    Raises :class:`InvalidRequest` naming the target and field, e.g.
    ``notify[1].webhook: 'ftp://x' is not an http(s) URL``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRequest(f"notify: must be a list of targets, not {_show(value)}")
    if len(value) > MAX_TARGETS:
        raise InvalidRequest(f"notify: at most {MAX_TARGETS} targets, not {len(value)}")
    targets: list[NotifyTarget] = []
    seen: set[tuple[str, str]] = set()
    for index, item in enumerate(value):
        where = f"notify[{index}]"
        if not isinstance(item, dict):
            raise InvalidRequest(f"{where}: must be an object, not {_show(item)}")
        unknown = sorted(str(key) for key in item if key not in _TARGET_KEYS)
        if unknown:
            raise InvalidRequest(
                f"{where}: unknown field {_show(unknown[0])} (allowed: email, webhook, on)"
            )
        kinds = [kind for kind in ("email", "webhook") if kind in item]
        if len(kinds) != 1:
            raise InvalidRequest(f"{where}: needs exactly one of 'email' or 'webhook'")
        kind = kinds[0]
        field = f"{where}.{kind}"
        if kind == "email":
            address = _check_email(field, item[kind])
        else:
            address = _check_url(field, item[kind])
        identity = (kind, address.lower() if kind == "email" else address)
        if identity in seen:
            raise InvalidRequest(f"{field}: the same {kind} is listed twice")
        seen.add(identity)
        events = _check_events(f"{where}.on", item["on"]) if "on" in item else DEFAULT_EVENTS
        targets.append(NotifyTarget(kind=kind, address=address, events=events))
    return targets


@dataclass(frozen=True)
class Notification:
    """One event of one run: ``run`` is the run as the REST API shows it (plus ``url``, a
    link to it, and ``schedule_name`` when known); ``dedup_key`` is the same on every
    attempt to send it."""

    event: str
    dedup_key: str
    run: Mapping[str, Any]


def _one_line(value: Any) -> str:
    return " ".join(str(value).split())


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _part(run: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = run.get(name)
    return value if isinstance(value, Mapping) else {}


def _path(run: Mapping[str, Any]) -> str:
    source = _part(run, "source")
    path = run.get("path") or source.get("path") or source.get("key")
    return _one_line(path) if path else "a notebook"


def _schedule(run: Mapping[str, Any]) -> str:
    if run.get("schedule_name"):
        return f" (schedule {_one_line(run['schedule_name'])!r})"
    if run.get("schedule_id"):
        return f" (schedule {_one_line(run['schedule_id'])})"
    return ""


def _error(run: Mapping[str, Any]) -> str:
    """``in cell 3: ValueError: bad input`` (or less, as far as the error says)."""
    error = _part(run, "error")
    text = ""
    if error.get("cell_index") is not None:
        text = f" in cell {error['cell_index']}"
    described = ": ".join(_one_line(error[key]) for key in ("ename", "evalue") if error.get(key))
    return f"{text}: {described}" if described else text


def summary(n: Notification) -> str:
    """One line saying what happened, e.g. ``bookstore: run of reports/daily.ipynb
    (schedule 'nightly') failed in cell 3: ValueError: bad input``."""
    run = n.run
    text = f"bookstore: run of {_path(run)}{_schedule(run)} {_VERBS.get(n.event, n.event)}"
    if n.event == "failed" and run.get("error"):
        text += _error(run)
    elif n.event in ("failed", "lost", "skipped") and run.get("reason"):
        text += f": {_one_line(run['reason'])}"
    elif n.event == "succeeded" and run.get("duration_s") is not None:
        text += f" in {run['duration_s']} s"
    return _clip(text, _SUMMARY_LIMIT)


def _slack_escape(text: str) -> str:
    """Slack reads ``<...>`` as links and mentions (``<!channel>``): escaped, as it asks."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(n: Notification) -> dict[str, Any]:
    """The JSON a webhook receives: ``text`` for Slack and Teams (with a Markdown link to
    the run when it has a ``url``), Teams' ``summary`` and ``themeColor``, and
    ``bookstore`` (``event``, ``dedup_key``, ``run``) for programs."""
    line = summary(n)
    text = _slack_escape(line)
    url = n.run.get("url")
    if isinstance(url, str) and url:
        text += f" [Open the run]({url})"
    return {
        "text": text,
        "summary": line,
        "themeColor": _COLORS.get(n.event, "8A8886"),
        "bookstore": {"event": n.event, "dedup_key": n.dedup_key, "run": dict(n.run)},
    }


def message_id(dedup_key: str) -> str:
    """The ``Message-ID`` of every email sent for ``dedup_key``."""
    return f"<{hashlib.sha256(dedup_key.encode()).hexdigest()[:32]}@bookstore>"


def _details(n: Notification) -> list[tuple[str, str]]:
    run = n.run
    source, output, error = _part(run, "source"), _part(run, "output"), _part(run, "error")
    rows: list[tuple[str, Any]] = [
        ("Event", n.event),
        ("Run", run.get("id")),
        ("State", run.get("state")),
        ("Notebook", _path(run)),
        ("Version", source.get("version_id")),
        ("Schedule", run.get("schedule_name")),
        ("Schedule id", run.get("schedule_id")),
        ("Trigger", run.get("trigger")),
        ("Owner", run.get("owner")),
        ("Started", run.get("started_at")),
        ("Finished", run.get("finished_at")),
        ("Duration", None if run.get("duration_s") is None else f"{run['duration_s']} s"),
        ("Reason", run.get("reason")),
        ("Error cell", error.get("cell_index")),
        ("Error", ": ".join(str(error[k]) for k in ("ename", "evalue") if error.get(k))),
        ("Output", output.get("path") or output.get("key")),
        ("Output version", output.get("version_id")),
        ("Link", run.get("url")),
    ]
    return [(label, str(value)) for label, value in rows if value not in (None, "")]


def email_message(n: Notification, *, sender: str, to: str) -> EmailMessage:
    """The email for ``n``: the :func:`summary` as subject, the details as plain text, and a
    ``Message-ID`` and ``X-Bookstore-Dedup-Key`` derived from ``dedup_key`` (the same on
    every attempt)."""
    message = EmailMessage()
    message["Subject"] = summary(n)
    message["From"] = sender
    message["To"] = to
    message["Date"] = email.utils.formatdate(usegmt=True)
    message["Message-ID"] = message_id(n.dedup_key)
    message["X-Bookstore-Dedup-Key"] = _one_line(n.dedup_key)
    message["Auto-Submitted"] = "auto-generated"
    rows = _details(n)
    width = max(len(label) for label, _ in rows) + 2
    lines = [summary(n), ""]
    lines += [f"{label + ':':<{width}}{value}" for label, value in rows]
    lines += [
        "",
        f"Dedup key: {n.dedup_key} (a notification sent again carries the same key).",
    ]
    message.set_content("\n".join(lines) + "\n", cte="quoted-printable")
    return message


@dataclass(frozen=True)
class MailSettings:
    """The SMTP server of email notifications (``host`` empty: email is off); ``security``
    is ``"none"``, ``"starttls"`` or ``"ssl"``."""

    host: str = ""
    port: int = 25
    username: str = ""
    password: str = ""
    security: str = "none"
    sender: str = "bookstore@localhost"
    timeout: float = 10.0


def _describe(exc: BaseException) -> str:
    text = _one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _smtp_send(message: EmailMessage, mail: MailSettings, to: str) -> None:
    """Hand ``message`` to the mail server (blocking: run in a thread)."""
    client: smtplib.SMTP
    if mail.security == "ssl":
        context = ssl.create_default_context()
        client = smtplib.SMTP_SSL(mail.host, mail.port, timeout=mail.timeout, context=context)
    else:
        client = smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout)
    with client:
        if mail.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        if mail.username:
            client.login(mail.username, mail.password)
        sender = email.utils.parseaddr(mail.sender)[1] or mail.sender
        client.send_message(message, from_addr=sender, to_addrs=[to])


async def _send_email(n: Notification, target: NotifyTarget, mail: MailSettings) -> None:
    if not mail.host:
        raise NotificationFailed(
            f"cannot email {target.address}: email notifications are off (no smtp_host)"
        )
    if mail.security not in ("none", "starttls", "ssl"):
        raise NotificationFailed(
            f"smtp_security must be none, starttls or ssl, not {mail.security!r}"
        )
    where = f"{mail.host}:{mail.port}"
    try:
        message = email_message(n, sender=mail.sender, to=target.address)
        await asyncio.to_thread(_smtp_send, message, mail, target.address)
    except Exception as exc:
        text = _describe(exc)
        if mail.password:
            text = text.replace(mail.password, "***")
        raise NotificationFailed(
            f"email to {target.address} through {where} failed: {text}"
        ) from exc


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: its path may be a secret (Slack's, Teams')."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def _send_webhook(
    n: Notification, target: NotifyTarget, session: aiohttp.ClientSession | None, timeout: float
) -> None:
    import aiohttp

    origin = _origin(target.address)
    headers = {"X-Bookstore-Dedup-Key": _one_line(n.dedup_key), "User-Agent": "bookstore"}
    try:
        own = session is None
        client = aiohttp.ClientSession() if session is None else session
        try:
            async with client.post(
                target.address,
                json=webhook_payload(n),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
                allow_redirects=False,
            ) as response:
                status, reason = response.status, response.reason or ""
                await response.read()
        finally:
            if own:
                await client.close()
    except Exception as exc:
        if isinstance(exc, asyncio.TimeoutError):
            text = f"no answer within {timeout} s"
        else:
            text = _describe(exc).replace(target.address, origin)
        raise NotificationFailed(f"webhook {origin} failed: {text}") from exc
    if not 200 <= status < 300:
        raise NotificationFailed(f"webhook {origin} answered {status} {_one_line(reason)}".rstrip())


async def send(
    n: Notification,
    target: NotifyTarget,
    *,
    mail: MailSettings,
    session: aiohttp.ClientSession | None = None,
    timeout: float = 10.0,
) -> None:
    """Deliver ``n`` to ``target`` once: POST the :func:`webhook_payload` (within
    ``timeout`` seconds, on ``session`` when given) or send the :func:`email_message`
    through ``mail`` (``mail.timeout`` per step).

    Raises :class:`NotificationFailed` on any failure (no connection, a webhook's answer
    other than 2xx, the mail server's refusal, email off), and nothing else."""
    try:
        if target.kind == "email":
            await _send_email(n, target, mail)
        elif target.kind == "webhook":
            await _send_webhook(n, target, session, timeout)
        else:
            raise NotificationFailed(f"unknown kind of notification target {target.kind!r}")
    except NotificationFailed:
        raise
    except Exception as exc:  # anything a target or payload can still fail with
        raise NotificationFailed(
            f"notification to a {target.kind} failed: {_describe(exc)}"
        ) from exc
