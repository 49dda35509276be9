"""The runs database on SQLite and on a real PostgreSQL: what must happen once does."""

from __future__ import annotations

import threading
import time

import pytest

from bookstore.core.runs.db import RunDB, new_id
from bookstore.core.runs.states import RunState
from bookstore.errors import Conflict, ObjectNotFound
from tests.core.runs_rows import run_row, schedule_row


def test_ids_sort_by_creation() -> None:
    first = new_id()
    time.sleep(0.002)
    assert new_id() > first
    assert len(first) == 24


def test_create_and_read_a_run(db: RunDB) -> None:
    run, created = db.create_run(run_row(parameters={"n": 3, "name": "x"}))
    assert created
    assert db.require_run(run["id"])["parameters"] == {"n": 3, "name": "x"}
    assert run["state"] == "QUEUED"
    with pytest.raises(ObjectNotFound):
        db.require_run("nope")


def test_an_idempotency_key_makes_one_run_per_owner(db: RunDB) -> None:
    first, created = db.create_run(run_row(idempotency_key="k1"))
    again, created_again = db.create_run(run_row(idempotency_key="k1"))
    other, other_created = db.create_run(run_row(owner="bob", idempotency_key="k1"))
    assert created
    assert not created_again
    assert other_created
    assert again["id"] == first["id"] != other["id"]
    assert db.count_runs(owner="ada") == 1


def test_two_servers_claim_each_queued_run_once(runs_db_url: str) -> None:
    setup = RunDB(runs_db_url)
    ids = {setup.create_run(run_row())[0]["id"] for _ in range(20)}
    claimed: dict[str, list[str]] = {"s1": [], "s2": [], "s3": []}
    barrier = threading.Barrier(3)

    def claim(server: str) -> None:
        handle = RunDB(runs_db_url)
        barrier.wait()
        while True:
            got = handle.claim_runs(server, now=time.time(), lease=30, limit=2)
            if not got:
                break
            claimed[server].extend(run["id"] for run in got)
        handle.close()

    threads = [threading.Thread(target=claim, args=(name,)) for name in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [run_id for runs in claimed.values() for run_id in runs]
    assert sorted(everything) == sorted(ids), "each run claimed exactly once"
    assert all(db_run["state"] == "RUNNING" for db_run in setup.list_runs(limit=100))
    setup.close()


def test_claims_follow_the_owner_and_not_before(db: RunDB) -> None:
    db.create_run(run_row(owner="bob"))
    later, _ = db.create_run(run_row(not_before=time.time() + 3600))
    mine, _ = db.create_run(run_row())
    got = db.claim_runs("s1", now=time.time(), lease=30, limit=10, owner="ada")
    assert [run["id"] for run in got] == [mine["id"]]
    assert db.require_run(later["id"])["state"] == "QUEUED"


def test_overlap_queue_starts_one_run_of_a_schedule_at_a_time(db: RunDB) -> None:
    schedule = db.create_schedule(schedule_row(overlap="queue"))
    first, _ = db.create_run(run_row(schedule_id=schedule["id"], overlap="queue"))
    second, _ = db.create_run(run_row(schedule_id=schedule["id"], overlap="queue"))
    got = db.claim_runs("s1", now=time.time(), lease=30, limit=10)
    assert [run["id"] for run in got] == [first["id"]]
    assert db.claim_runs("s2", now=time.time(), lease=30, limit=10) == []
    db.transition(first["id"], RunState.COMPLETED, expected=[RunState.RUNNING])
    got = db.claim_runs("s2", now=time.time(), lease=30, limit=10)
    assert [run["id"] for run in got] == [second["id"]]


def test_a_state_changes_once(db: RunDB) -> None:
    run, _ = db.create_run(run_row())
    db.claim_runs("s1", now=time.time(), lease=30, limit=1)
    done = db.transition(run["id"], RunState.COMPLETED, expected=[RunState.RUNNING])
    assert done is not None
    assert done["state"] == "COMPLETED"
    assert done["lease_owner"] is None
    assert done["finished_at"] is not None
    assert db.transition(run["id"], RunState.FAILED, expected=[RunState.RUNNING]) is None
    with pytest.raises(Conflict):
        db.transition(run["id"], RunState.RUNNING, expected=[RunState.COMPLETED])


def test_expired_leases_become_lost(db: RunDB) -> None:
    leased, _ = db.create_run(run_row(not_before=time.time() - 200))
    queued, _ = db.create_run(run_row(not_before=time.time() + 60))
    db.claim_runs("dead-server", now=time.time() - 100, lease=30, limit=1)
    lost = db.expire_leases(time.time())
    assert [run["id"] for run in lost] == [leased["id"]]
    assert lost[0]["state"] == "LOST"
    assert lost[0]["error"]["ename"] == "Lost"
    assert db.require_run(queued["id"])["state"] == "QUEUED", "an unleased run is not lost"
    assert db.expire_leases(time.time()) == []


def test_renew_keeps_only_the_leases_a_server_holds(db: RunDB) -> None:
    run, _ = db.create_run(run_row())
    db.claim_runs("s1", now=time.time(), lease=30, limit=1)
    assert db.renew("s1", [run["id"]], time.time() + 30) == {run["id"]}
    assert db.renew("s2", [run["id"]], time.time() + 30) == set()


def test_cancel(db: RunDB) -> None:
    queued, _ = db.create_run(run_row())
    assert db.request_cancel(queued["id"])["state"] == "CANCELLED"
    running, _ = db.create_run(run_row())
    db.claim_runs("s1", now=time.time(), lease=30, limit=1)
    flagged = db.request_cancel(running["id"])
    assert flagged["state"] == "RUNNING"
    assert flagged["cancel_requested"]
    assert db.cancel_requested([running["id"], queued["id"]]) == {running["id"], queued["id"]}
    db.transition(running["id"], RunState.CANCELLED, expected=[RunState.RUNNING])
    with pytest.raises(Conflict, match="nothing to cancel"):
        db.request_cancel(running["id"])


def test_a_stale_schedule_revision_is_refused(db: RunDB) -> None:
    schedule = db.create_schedule(schedule_row())
    changed = db.update_schedule(schedule["id"], {"name": "b"}, expected_revision=1)
    assert changed["revision"] == 2
    assert changed["name"] == "b"
    with pytest.raises(Conflict, match="changed by somebody else"):
        db.update_schedule(schedule["id"], {"name": "c"}, expected_revision=1)
    db.delete_schedule(schedule["id"])
    with pytest.raises(ObjectNotFound):
        db.delete_schedule(schedule["id"])


def test_a_tick_is_claimed_once(runs_db_url: str) -> None:
    first, second = RunDB(runs_db_url), RunDB(runs_db_url)
    schedule = first.create_schedule(schedule_row())
    moment = 1_800_000_000.0
    won = first.claim_tick(schedule["id"], moment, "s1", run_row(schedule_id=schedule["id"]))
    lost = second.claim_tick(schedule["id"], moment, "s2", run_row(schedule_id=schedule["id"]))
    assert won is not None
    assert lost is None
    assert first.count_fires(schedule["id"]) == 1
    assert first.count_runs(schedule_id=schedule["id"]) == 1
    assert second.last_fire(schedule["id"]) == moment
    first.close()
    second.close()


def test_each_notification_is_sent_once_and_retried_when_it_fails(db: RunDB) -> None:
    run, _ = db.create_run(run_row())
    row = {"run_id": run["id"], "event": "failed", "target": '{"email": "a@b.c"}'}
    assert db.enqueue_notifications([row, row]) == 1
    assert db.enqueue_notifications([row]) == 0
    now = time.time()
    claimed = db.claim_notifications("s1", now=now, lease=60)
    assert len(claimed) == 1
    assert db.claim_notifications("s2", now=now, lease=60) == [], "leased to s1"
    db.finish_notification(claimed[0], sent=False, error="refused", retry_at=now + 5)
    assert db.claim_notifications("s2", now=now + 1, lease=60) == [], "not due yet"
    again = db.claim_notifications("s2", now=now + 6, lease=60)
    assert len(again) == 1
    assert again[0]["attempts"] == 1
    db.finish_notification(again[0], sent=True)
    assert db.claim_notifications("s1", now=now + 1000, lease=60) == []
    (final,) = db.notifications_of(run["id"])
    assert final["state"] == "sent"
    assert final["attempts"] == 2


def test_runs_are_listed_newest_first_in_pages(db: RunDB) -> None:
    ids = [db.create_run(run_row())[0]["id"] for _ in range(5)]
    page = db.list_runs(limit=3)
    assert [run["id"] for run in page] == ids[::-1][:3]
    last = page[-1]
    rest = db.list_runs(limit=3, before=(last["created_at"], last["id"]))
    assert [run["id"] for run in rest] == ids[::-1][3:]


def test_the_last_run_of_each_schedule_in_one_query(db: RunDB) -> None:
    first = db.create_schedule(schedule_row())
    second = db.create_schedule(schedule_row())
    idle = db.create_schedule(schedule_row())
    db.create_run(run_row(schedule_id=first["id"]))
    newest, _ = db.create_run(run_row(schedule_id=first["id"], created_at=time.time() + 1))
    only, _ = db.create_run(run_row(schedule_id=second["id"]))
    last = db.last_runs([first["id"], second["id"], idle["id"]])
    assert {key: run["id"] for key, run in last.items()} == {
        first["id"]: newest["id"],
        second["id"]: only["id"],
    }
    assert "partial" not in last[first["id"]]
    assert db.last_runs([]) == {}
