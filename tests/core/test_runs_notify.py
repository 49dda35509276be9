"""Run notifications (bookstore.core.runs.notify): the targets a request may name, what a
webhook and an email say, and real deliveries to the SMTP and webhook servers of
tests/smtprig.py, including the ways one fails."""

from __future__ import annotations

import hashlib
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from bookstore.core.runs.notify import (
    DEFAULT_EVENTS,
    EVENTS,
    MailSettings,
    Notification,
    NotificationFailed,
    NotifyTarget,
    email_message,
    message_id,
    parse_targets,
    send,
    summary,
    webhook_payload,
)
from bookstore.errors import BookstoreError, InvalidRequest
from tests.smtprig import HOST, SmtpRig, WebhookRig, free_port

RUN_ID = "0190a1b2c3d4e5f6a7b8c9d0"


def run_json(**changes: Any) -> dict[str, Any]:
    """A failed run as the REST API shows it (plus ``url`` and ``schedule_name``)."""
    run: dict[str, Any] = {
        "id": RUN_ID,
        "state": "failed",
        "owner": "ada",
        "path": "reports/daily.ipynb",
        "schedule_id": "sch1",
        "schedule_name": "nightly",
        "trigger": "schedule",
        "source": {"key": "ws/ada/reports/daily.ipynb", "version_id": "v1"},
        "output": {"key": "ws/ada/runs/daily-out.ipynb", "version_id": "v2"},
        "error": {"cell_index": 3, "ename": "ValueError", "evalue": "bad input"},
        "started_at": "2024-05-01T02:00:00.000Z",
        "finished_at": "2024-05-01T02:00:12.500Z",
        "duration_s": 12.5,
        "reason": None,
        "url": "http://lab.example/bookstore/runs/" + RUN_ID,
    }
    run.update(changes)
    return run


def notification(event: str = "failed", **changes: Any) -> Notification:
    return Notification(event=event, dedup_key=f"{RUN_ID}:{event}", run=run_json(**changes))


def refused_port() -> int:
    """A port of 127.0.0.1 nothing listens on."""
    return free_port()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) but never says anything."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


# -- targets ------------------------------------------------------------------------------


def test_targets_parsed_with_default_and_given_events() -> None:
    targets = parse_targets(
        [
            {"email": "ops@example.com"},
            {"webhook": "https://hooks.slack.com/services/T0/B0/xyz", "on": ["succeeded"]},
            {"webhook": "http://127.0.0.1:8080/hook?x=1", "on": ["failed", "failed", "lost"]},
        ]
    )
    assert targets == [
        NotifyTarget("email", "ops@example.com", DEFAULT_EVENTS),
        NotifyTarget(
            "webhook", "https://hooks.slack.com/services/T0/B0/xyz", frozenset({"succeeded"})
        ),
        NotifyTarget("webhook", "http://127.0.0.1:8080/hook?x=1", frozenset({"failed", "lost"})),
    ]
    assert targets[0].to_json() == {
        "email": "ops@example.com",
        "on": ["failed", "lost", "too_slow"],
    }
    assert targets[2].to_json() == {
        "webhook": "http://127.0.0.1:8080/hook?x=1",
        "on": ["failed", "lost"],
    }
    assert parse_targets(None) == []
    assert parse_targets([]) == []
    every = parse_targets([{"email": "a.b+c@mail.example.org", "on": list(EVENTS)}])
    assert every[0].events == frozenset(EVENTS)


def test_targets_round_trip_through_their_json() -> None:
    targets = parse_targets(
        [{"email": "a@b.co", "on": ["too_slow", "started"]}, {"webhook": "https://x.example/h"}]
    )
    again = parse_targets([json.loads(json.dumps(t.to_json())) for t in targets])
    assert again == targets


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ops@example.com", r"^notify: must be a list of targets"),
        ({"email": "a@b.co"}, r"^notify: must be a list of targets"),
        ([{"email": f"u{i}@b.co"} for i in range(21)], r"^notify: at most 20 targets, not 21$"),
        (["a@b.co"], r"^notify\[0\]: must be an object"),
        ([{}], r"^notify\[0\]: needs exactly one of 'email' or 'webhook'$"),
        (
            [{"email": "a@b.co", "webhook": "https://x.example"}],
            r"^notify\[0\]: needs exactly one of 'email' or 'webhook'$",
        ),
        ([{"on": ["failed"]}], r"^notify\[0\]: needs exactly one"),
        (
            [{"email": "a@b.co", "cc": "c@d.co"}],
            r"^notify\[0\]: unknown field 'cc' \(allowed: email, webhook, on\)$",
        ),
        ([{"email": 7}], r"^notify\[0\]\.email: must be a string, not 7$"),
        (
            [{"email": "a@b.co"}, {"email": "nobody"}],
            r"^notify\[1\]\.email: 'nobody' is not an email address$",
        ),
        (
            [{"email": "a@localhost"}],
            r"^notify\[0\]\.email: 'a@localhost' is not an email address$",
        ),
        ([{"email": "a@@b.co"}], r"is not an email address"),
        ([{"email": "a b@c.co"}], r"is not an email address"),
        ([{"email": "a@b.co\r\nBcc: x@y.co"}], r"is not an email address"),
        ([{"email": "Ada <a@b.co>"}], r"is not an email address"),
        ([{"email": ".a@b.co"}], r"is not an email address"),
        ([{"email": "a..b@c.co"}], r"is not an email address"),
        ([{"email": "a@-b.co"}], r"is not an email address"),
        ([{"email": "a@b.co."}], r"is not an email address"),
        ([{"email": "x" * 250 + "@b.co"}], r"is not an email address"),
        (
            [{"email": "a@b.co"}, {"webhook": "ftp://x"}],
            r"^notify\[1\]\.webhook: 'ftp://x' is not an http\(s\) URL$",
        ),
        ([{"webhook": "https://"}], r"^notify\[0\]\.webhook: 'https://' is not an http\(s\) URL$"),
        ([{"webhook": "hooks.example/x"}], r"is not an http\(s\) URL"),
        ([{"webhook": "javascript:alert(1)"}], r"is not an http\(s\) URL"),
        ([{"webhook": "https://x.example:port/h"}], r"is not an http\(s\) URL"),
        ([{"webhook": "https://x.example/a b"}], r"is not an http\(s\) URL"),
        ([{"webhook": "https://x.example/\nHost: evil"}], r"is not an http\(s\) URL"),
        ([{"webhook": "https://x.example\\@evil.example/"}], r"is not an http\(s\) URL"),
        ([{"webhook": "https://bücher.example/h"}], r"is not an http\(s\) URL"),
        ([{"webhook": ["https://x.example"]}], r"^notify\[0\]\.webhook: must be a string"),
        (
            [{"webhook": "https://x.example/" + "a" * 500}],
            r"^notify\[0\]\.webhook: longer than 500",
        ),
        (
            [{"webhook": "https://user:hunter2@x.example/h"}],
            r"^notify\[0\]\.webhook: a URL with a user name or password is not allowed$",
        ),
        ([{"webhook": "https://token@x.example/h"}], r"user name or password is not allowed"),
        ([{"email": "a@b.co", "on": "failed"}], r"^notify\[0\]\.on: must be a list of events"),
        ([{"email": "a@b.co", "on": []}], r"^notify\[0\]\.on: must list at least one of started,"),
        (
            [{"email": "a@b.co"}, {"email": "c@d.co", "on": ["failed", "exploded"]}],
            r"^notify\[1\]\.on: unknown event 'exploded' "
            r"\(valid: started, succeeded, failed, lost, skipped, too_slow\)$",
        ),
        ([{"email": "a@b.co", "on": [1]}], r"^notify\[0\]\.on: unknown event 1 "),
        (
            [{"email": "a@b.co"}, {"email": "A@B.co", "on": ["started"]}],
            r"^notify\[1\]\.email: the same email is listed twice$",
        ),
        (
            [
                {"webhook": "https://x.example/h"},
                {"webhook": "https://x.example/h", "on": ["lost"]},
            ],
            r"^notify\[1\]\.webhook: the same webhook is listed twice$",
        ),
    ],
)
def test_targets_refused(value: Any, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        parse_targets(value)


def test_refused_credentials_are_not_echoed() -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_targets([{"webhook": "https://user:hunter2@x.example/h"}])
    assert "hunter2" not in str(caught.value)


def test_twenty_targets_are_allowed() -> None:
    assert len(parse_targets([{"email": f"u{i}@b.co"} for i in range(20)])) == 20


# -- what a notification says -------------------------------------------------------------


def test_summary_of_each_event() -> None:
    assert summary(notification()) == (
        "bookstore: run of reports/daily.ipynb (schedule 'nightly') failed in cell 3: "
        "ValueError: bad input"
    )
    assert summary(notification("succeeded", error=None, state="succeeded")) == (
        "bookstore: run of reports/daily.ipynb (schedule 'nightly') succeeded in 12.5 s"
    )
    assert summary(notification("started", schedule_name=None, schedule_id=None)) == (
        "bookstore: run of reports/daily.ipynb started"
    )
    assert summary(notification("started", schedule_name=None)) == (
        "bookstore: run of reports/daily.ipynb (schedule sch1) started"
    )
    assert summary(notification("skipped", error=None, reason="the previous run is running")) == (
        "bookstore: run of reports/daily.ipynb (schedule 'nightly') was skipped: "
        "the previous run is running"
    )
    assert summary(notification("lost", error=None, reason="worker died")).endswith(
        "was lost: worker died"
    )
    assert summary(notification("too_slow")).endswith("is taking longer than expected")
    assert summary(notification(error={"ename": "DeadKernelError", "evalue": ""})).endswith(
        "failed: DeadKernelError"
    )


def test_summary_is_one_short_line() -> None:
    noisy = notification(
        path=None,
        schedule_name="a\nb",
        error={"cell_index": 0, "ename": "E", "evalue": "line 1\r\nline 2\t" + "x" * 1000},
    )
    line = summary(noisy)
    assert "\n" not in line
    assert "\r" not in line
    assert len(line) <= 300
    assert line.startswith(
        "bookstore: run of ws/ada/reports/daily.ipynb (schedule 'a b') failed in cell 0: "
        "E: line 1 line 2 xxx"
    )
    assert line.endswith("...")


def test_webhook_payload_for_slack_teams_and_programs() -> None:
    n = notification()
    payload = webhook_payload(n)
    assert payload["text"] == (
        f"{summary(n)} [Open the run](http://lab.example/bookstore/runs/{RUN_ID})"
    )
    assert payload["summary"] == summary(n)
    assert payload["themeColor"] == "D13438"
    assert payload["bookstore"] == {
        "event": "failed",
        "dedup_key": f"{RUN_ID}:failed",
        "run": run_json(),
    }
    assert json.loads(json.dumps(payload)) == payload
    plain = webhook_payload(notification("succeeded", url=None, error=None))
    assert plain["text"] == summary(notification("succeeded", url=None, error=None))
    assert plain["themeColor"] == "107C10"


def test_webhook_text_cannot_mention_a_channel() -> None:
    payload = webhook_payload(notification(error={"ename": "E", "evalue": "<!channel> & co"}))
    assert "<!channel>" not in payload["text"]
    assert "&lt;!channel&gt; &amp; co" in payload["text"]
    assert "<!channel> & co" in payload["summary"]


def test_email_message_headers_and_body() -> None:
    n = notification()
    message = email_message(n, sender="Bookstore <bookstore@example.com>", to="ops@example.com")
    expected_id = f"<{hashlib.sha256(f'{RUN_ID}:failed'.encode()).hexdigest()[:32]}@bookstore>"
    assert message["Subject"] == summary(n)
    assert message["From"] == "Bookstore <bookstore@example.com>"
    assert message["To"] == "ops@example.com"
    assert message["Message-ID"] == expected_id == message_id(f"{RUN_ID}:failed")
    assert message["X-Bookstore-Dedup-Key"] == f"{RUN_ID}:failed"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    assert message.get_content_type() == "text/plain"
    body = message.get_content()
    for line in (
        "Event:          failed",
        f"Run:            {RUN_ID}",
        "Notebook:       reports/daily.ipynb",
        "Version:        v1",
        "Schedule:       nightly",
        "Error cell:     3",
        "Error:          ValueError: bad input",
        "Output:         ws/ada/runs/daily-out.ipynb",
        "Duration:       12.5 s",
        f"Link:           http://lab.example/bookstore/runs/{RUN_ID}",
    ):
        assert line in body.splitlines()
    assert "Reason" not in body
    again = email_message(n, sender="b@example.com", to="ops@example.com")
    assert again["Message-ID"] == expected_id
    other = email_message(notification("lost"), sender="b@example.com", to="ops@example.com")
    assert other["Message-ID"] != expected_id


def test_email_message_with_unicode() -> None:
    n = notification(
        path="berichte/tägliche.ipynb", error={"ename": "Fehler", "evalue": "ungültig ✗"}
    )
    message = email_message(n, sender="b@example.com", to="ops@example.com")
    assert message["Subject"] == summary(n)
    assert "ungültig ✗" in message.get_content()
    assert message.as_bytes().isascii()


def test_notify_loads_no_web_stack() -> None:
    script = (
        "import sys, bookstore.core.runs.notify\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(result.stdout.split())
    assert not loaded & {"tornado", "jupyter_server", "jinja2", "aiohttp"}


def test_notification_failed_is_a_server_error() -> None:
    assert issubclass(NotificationFailed, BookstoreError)
    assert NotificationFailed.http_status == 500


# -- deliveries ---------------------------------------------------------------------------


async def test_email_delivered_once_with_a_stable_message_id(smtp_server: SmtpRig) -> None:
    n = notification()
    target = parse_targets([{"email": "ops@example.com"}])[0]
    mail = MailSettings(
        host=smtp_server.host, port=smtp_server.port, sender="Bookstore <bs@example.com>"
    )
    await send(n, target, mail=mail)
    (received,) = smtp_server.messages
    assert received.mail_from == "bs@example.com"
    assert received.rcpt_tos == ("ops@example.com",)
    assert received.message["Subject"] == summary(n)
    assert received.message["To"] == "ops@example.com"
    assert received.message["X-Bookstore-Dedup-Key"] == f"{RUN_ID}:failed"
    assert "Error:          ValueError: bad input" in received.message.get_content()
    # A second attempt (a retry after a lost answer) is recognisably the same message.
    await send(n, target, mail=mail)
    first, second = smtp_server.wait_for(lambda messages: len(messages) == 2)
    assert first.message["Message-ID"] == second.message["Message-ID"] == message_id(n.dedup_key)


async def test_email_with_login() -> None:
    target = NotifyTarget("email", "ops@example.com", DEFAULT_EVENTS)
    with SmtpRig(users={"ada": "s3cret-pw"}) as smtp:
        mail = MailSettings(host=smtp.host, port=smtp.port, username="ada", password="s3cret-pw")
        await send(notification(), target, mail=mail)
        assert len(smtp.messages) == 1
        assert smtp.logins == ["ada"]
        wrong = MailSettings(host=smtp.host, port=smtp.port, username="ada", password="wr0ng-pw")
        with pytest.raises(NotificationFailed, match="SMTPAuthenticationError") as caught:
            await send(notification(), target, mail=wrong)
        assert "wr0ng-pw" not in str(caught.value)
        assert len(smtp.messages) == 1


async def test_email_failures() -> None:
    target = NotifyTarget("email", "ops@example.com", DEFAULT_EVENTS)
    with pytest.raises(NotificationFailed, match=r"email notifications are off \(no smtp_host\)"):
        await send(notification(), target, mail=MailSettings())
    port = refused_port()
    with pytest.raises(
        NotificationFailed, match=rf"^email to ops@example.com through 127.0.0.1:{port} failed: "
    ):
        await send(notification(), target, mail=MailSettings(host=HOST, port=port, timeout=5))
    with pytest.raises(NotificationFailed, match="smtp_security must be"):
        await send(notification(), target, mail=MailSettings(host=HOST, security="tls"))


async def test_email_starttls_refused_by_a_server_without_it(smtp_server: SmtpRig) -> None:
    target = NotifyTarget("email", "ops@example.com", DEFAULT_EVENTS)
    mail = MailSettings(host=smtp_server.host, port=smtp_server.port, security="starttls")
    with pytest.raises(NotificationFailed, match="STARTTLS"):
        await send(notification(), target, mail=mail)
    assert smtp_server.messages == []


async def test_email_to_a_silent_server_times_out(silent_port: int) -> None:
    target = NotifyTarget("email", "ops@example.com", DEFAULT_EVENTS)
    mail = MailSettings(host=HOST, port=silent_port, timeout=0.3)
    with pytest.raises(NotificationFailed, match="timed out"):
        await send(notification(), target, mail=mail)


async def test_webhook_delivered_once_with_dedup_key(webhook_server: WebhookRig) -> None:
    n = notification()
    target = parse_targets([{"webhook": webhook_server.url}])[0]
    await send(n, target, mail=MailSettings())
    (request,) = webhook_server.requests
    assert request.status == 200
    assert request.path == "/hook"
    assert request.headers["x-bookstore-dedup-key"] == f"{RUN_ID}:failed"
    assert request.headers["content-type"].startswith("application/json")
    assert request.body == webhook_payload(n)


async def test_webhook_on_a_shared_session(webhook_server: WebhookRig) -> None:
    target = NotifyTarget("webhook", webhook_server.url, DEFAULT_EVENTS)
    async with aiohttp.ClientSession() as session:
        for event in ("failed", "lost"):
            await send(notification(event), target, mail=MailSettings(), session=session)
        assert not session.closed
    keys = [r.headers["x-bookstore-dedup-key"] for r in webhook_server.requests]
    assert keys == [f"{RUN_ID}:failed", f"{RUN_ID}:lost"]


async def test_webhook_error_answer_fails_then_a_retry_gets_through(
    webhook_server: WebhookRig,
) -> None:
    webhook_server.fail_next(1)
    target = NotifyTarget("webhook", webhook_server.url + "/T0/B0/secret-token", DEFAULT_EVENTS)
    with pytest.raises(NotificationFailed, match=r"answered 500") as caught:
        await send(notification(), target, mail=MailSettings())
    assert (
        str(caught.value)
        == f"webhook http://127.0.0.1:{webhook_server.port} answered 500 Internal Server Error"
    )
    await send(notification(), target, mail=MailSettings())
    statuses = [r.status for r in webhook_server.requests]
    assert statuses == [500, 200]
    keys = {r.headers["x-bookstore-dedup-key"] for r in webhook_server.requests}
    assert keys == {f"{RUN_ID}:failed"}


async def test_webhook_failures_hide_the_secret_path(silent_port: int) -> None:
    port = refused_port()
    target = NotifyTarget(
        "webhook", f"http://127.0.0.1:{port}/services/secret-token", DEFAULT_EVENTS
    )
    with pytest.raises(
        NotificationFailed, match=rf"^webhook http://127.0.0.1:{port} failed: "
    ) as caught:
        await send(notification(), target, mail=MailSettings())
    assert "secret-token" not in str(caught.value)
    slow = NotifyTarget("webhook", f"http://127.0.0.1:{silent_port}/secret-token", DEFAULT_EVENTS)
    with pytest.raises(NotificationFailed, match=r"no answer within 0.3 s") as caught:
        await send(notification(), slow, mail=MailSettings(), timeout=0.3)
    assert "secret-token" not in str(caught.value)


async def test_webhook_redirect_is_a_failure(webhook_server: WebhookRig) -> None:
    webhook_server.fail_next(1, status=302)
    target = NotifyTarget("webhook", webhook_server.url, DEFAULT_EVENTS)
    with pytest.raises(NotificationFailed, match="answered 302"):
        await send(notification(), target, mail=MailSettings())
    assert len(webhook_server.requests) == 1


async def test_unknown_target_kind() -> None:
    with pytest.raises(NotificationFailed, match="unknown kind"):
        await send(notification(), NotifyTarget("pager", "x", DEFAULT_EVENTS), mail=MailSettings())
