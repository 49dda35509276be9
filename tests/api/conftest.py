"""The API tests use the server fixtures of ``tests/server_fixtures.py`` (loaded by
``tests/conftest.py``)."""
