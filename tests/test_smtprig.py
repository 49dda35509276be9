"""The rigs of tests/smtprig.py: the SMTP server keeps what it accepts, the webhook server
keeps what is POSTed and fails on request, and waiting for something that never comes
fails with what did."""

from __future__ import annotations

import json
import smtplib
import socket
import threading
import urllib.error
import urllib.request
from email.message import EmailMessage

import pytest

from tests.smtprig import HOST, SmtpRig, WebhookRig


def _mail(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = "a@example.com"
    message["To"] = "b@example.com"
    message.set_content("hello\n")
    return message


def _post(url: str, body: object, **headers: str) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_smtp_server_keeps_messages_with_their_envelope(smtp_server: SmtpRig) -> None:
    assert smtp_server.host == HOST
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(
            _mail("one"),
            from_addr="bounce@example.com",
            to_addrs=["b@example.com", "c@example.com"],
        )
    (received,) = smtp_server.wait_for(lambda messages: len(messages) == 1)
    assert received.mail_from == "bounce@example.com"
    assert received.rcpt_tos == ("b@example.com", "c@example.com")
    assert isinstance(received.message, EmailMessage)
    assert received.message["Subject"] == "one"
    assert received.message.get_content() == "hello\n"
    assert b"\r\nhello\r\n" in received.raw
    assert smtp_server.messages == [received]


def test_wait_for_wakes_up_on_arrival_from_another_thread(smtp_server: SmtpRig) -> None:
    def deliver() -> None:
        with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
            client.send_message(_mail("late"))

    sender = threading.Thread(target=deliver)
    sender.start()
    try:
        messages = smtp_server.wait_for(lambda ms: any(m.message["Subject"] == "late" for m in ms))
    finally:
        sender.join(timeout=10)
    assert [m.message["Subject"] for m in messages] == ["late"]


def test_wait_for_fails_with_what_arrived(smtp_server: SmtpRig) -> None:
    with smtplib.SMTP(smtp_server.host, smtp_server.port, timeout=10) as client:
        client.send_message(_mail("only this"))
    with pytest.raises(
        AssertionError, match=r"timed out after 0.2 s waiting for mail; received 1: .*only this"
    ):
        smtp_server.wait_for(lambda messages: len(messages) == 2, timeout=0.2)


def test_smtp_server_with_logins() -> None:
    with SmtpRig(users={"ada": "pw"}) as smtp:
        with (
            smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client,
            pytest.raises(smtplib.SMTPAuthenticationError),
        ):
            client.login("ada", "nope")
        with smtplib.SMTP(smtp.host, smtp.port, timeout=10) as client:
            client.login("ada", "pw")
            client.send_message(_mail("logged in"))
        assert smtp.logins == ["ada"]
        assert len(smtp.messages) == 1


def test_smtp_server_stops() -> None:
    with SmtpRig() as smtp:
        port = smtp.port
    with socket.socket() as sock:
        sock.settimeout(5)
        with pytest.raises(ConnectionRefusedError):
            sock.connect((HOST, port))


def test_webhook_server_keeps_posts_and_fails_on_request(webhook_server: WebhookRig) -> None:
    assert webhook_server.url == f"http://{HOST}:{webhook_server.port}/hook"
    assert _post(webhook_server.url, {"n": 1}, **{"X-Thing": "a"}) == 200
    webhook_server.fail_next(2)
    assert _post(webhook_server.url, {"n": 2}) == 500
    assert _post(webhook_server.url + "/deeper", {"n": 3}) == 500
    assert _post(webhook_server.url, {"n": 4}) == 200
    webhook_server.fail_next(1, status=503)
    assert _post(webhook_server.url, {"n": 5}) == 503
    requests = webhook_server.wait_for(lambda rs: len(rs) == 5)
    assert [r.body for r in requests] == [{"n": n} for n in range(1, 6)]
    assert [r.status for r in requests] == [200, 500, 500, 200, 503]
    assert [r.path for r in requests] == ["/hook", "/hook", "/hook/deeper", "/hook", "/hook"]
    assert requests[0].headers["x-thing"] == "a"
    assert requests[0].raw == b'{"n": 1}'
    with pytest.raises(AssertionError, match=r"waiting for webhook requests; received 5"):
        webhook_server.wait_for(lambda rs: len(rs) > 5, timeout=0.1)


def test_webhook_server_keeps_a_body_that_is_not_json(webhook_server: WebhookRig) -> None:
    request = urllib.request.Request(webhook_server.url, data=b"not json", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    (received,) = webhook_server.requests
    assert (received.body, received.raw) == (None, b"not json")


def test_webhook_server_stops() -> None:
    with WebhookRig() as rig:
        port = rig.port
    with socket.socket() as sock:
        sock.settimeout(5)
        with pytest.raises(ConnectionRefusedError):
            sock.connect((HOST, port))
