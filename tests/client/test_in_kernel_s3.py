"""The client's core flow (publish, versions, restore, clone) from a real kernel of a real
`jupyter server` subprocess on SeaweedFS (S3), checked in the bucket itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import nbformat
import pytest

from tests.client.harness import ClientServer, InKernel, running_server
from tests.s3rig import SeaweedFS

pytestmark = pytest.mark.s3

NB = "s3 reports/summary.ipynb"


@pytest.fixture(scope="module")
def prefix(seaweedfs: SeaweedFS) -> str:
    """A key prefix of this module's own in the shared bucket (see ``s3_prefix``)."""
    if not seaweedfs.is_running():
        seaweedfs.start()
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, seaweedfs: SeaweedFS, prefix: str
) -> Iterator[ClientServer]:
    tmp = tmp_path_factory.mktemp("client-s3")
    settings = seaweedfs.settings_dict(
        workspace_prefix=f"{prefix}/workspace",
        published_prefix=f"{prefix}/published",
        audit_prefix=f"{prefix}/audit",
        archive_spool_dir=str(tmp / "spool"),
        archive_retry_max_delay=0.5,
    )
    with running_server(tmp, settings, NB, marker="s1") as server:
        yield server


@pytest.fixture(scope="module")
def kernel(server: ClientServer) -> Iterator[InKernel]:
    session = server.start_session(NB)
    in_kernel = server.connect(session["kernel"]["id"])
    try:
        yield in_kernel
    finally:
        in_kernel.close()
        server.end_session(session["id"])


def _first_cell(body: bytes) -> str:
    return str(nbformat.reads(body.decode(), as_version=4).cells[0].source)


def test_publish_versions_restore_clone_on_s3(
    server: ClientServer, kernel: InKernel, seaweedfs: SeaweedFS, prefix: str
) -> None:
    s3 = seaweedfs.client()
    bucket = seaweedfs.bucket

    published = kernel.ok("BookstoreClient().publish()")
    key = f"{prefix}/published/{NB}"
    assert published["bucket"] == bucket
    assert published["key"] == key
    assert published["s3_path"] == f"s3://{bucket}/{key}"
    stored = s3.get_object(Bucket=bucket, Key=key, VersionId=published["versionID"])
    assert _first_cell(stored["Body"].read()) == "# Notebook s1"

    server.save(NB, "s2")
    server.save(NB, "s3")
    server.wait_versions(NB, 3)
    versions = kernel.ok("BookstoreClient().versions(page_size=2)")
    workspace_key = f"{prefix}/workspace/{NB}"
    listed = s3.list_object_versions(Bucket=bucket, Prefix=workspace_key)["Versions"]
    assert [v["id"] for v in versions] == [
        v["VersionId"] for v in listed if v["Key"] == workspace_key
    ]

    oldest = versions[-1]["id"]
    diff = kernel.ok(f"BookstoreClient().diff(base={oldest!r}, remote='latest')")
    assert diff["summary"]["cells_changed"] >= 1
    restored = kernel.ok(f"BookstoreClient().restore({oldest!r})")
    assert restored["restored_from"]["id"] == oldest
    assert server.first_cell(NB) == "# Notebook s1"

    cloned = kernel.ok(
        f"BookstoreClient().clone({bucket!r}, {key!r}, {published['versionID']!r},"
        " 'from-s3/copy.ipynb')"
    )
    assert cloned["versionID"] == published["versionID"]
    assert server.first_cell("from-s3/copy.ipynb") == "# Notebook s1"

    missing = kernel.call(
        f"BookstoreClient().clone({bucket!r}, {prefix + '/published/nothing.ipynb'!r})"
    )
    assert missing["error"] == "BookstoreAPIError"
    assert missing["status"] == 404
