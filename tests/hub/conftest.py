"""The fixture ``hub``: a real JupyterHub (``tests/hub/rig.py``) whose users' servers all
archive to one bucket of the session's SeaweedFS.

Every test here skips, saying why, when jupyterhub or configurable-http-proxy is missing
(``make hub-proxy``); ``BOOKSTORE_REQUIRE_HUB=1`` makes that a failure.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.hub.rig import Hub, hub_unavailable_reason
from tests.skips import skip_unless_available


def skip_without_hub() -> None:
    """Skip the running test when no hub can run here (fail under ``BOOKSTORE_REQUIRE_HUB``)."""
    skip_unless_available(hub_unavailable_reason(), "BOOKSTORE_REQUIRE_HUB")


@pytest.fixture(scope="session")
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The session's (each xdist worker's) started hub, on a fresh versioned bucket of the
    session's SeaweedFS (``hub.bucket``); ``hub.start_server(user)`` starts a user's server.
    ``hub.timings`` has the seconds each start took."""
    skip_without_hub()
    seaweedfs = request.getfixturevalue("seaweedfs")
    bucket = seaweedfs.create_bucket(versioned=True)
    rig = Hub(tmp_path_factory.mktemp("hub"), seaweedfs.s3_env(bucket))
    try:
        rig.start()
        yield rig
    finally:
        rig.stop()
