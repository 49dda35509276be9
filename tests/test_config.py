"""BookstoreSettings: defaults, environment variables, precedence, feature validation."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from traitlets import TraitError
from traitlets.config import Config

from bookstore.config import ENV_VARS, BookstoreSettings, validate_bookstore
from bookstore.stores.base import StoreStatus
from bookstore.stores.local import LocalStore
from bookstore.stores.s3 import S3Store


def status(*, usable: bool = True, versioning: str = "Enabled") -> StoreStatus:
    return StoreStatus(
        backend="s3",
        bucket="b",
        location="http://127.0.0.1:1",
        reachable=usable,
        bucket_exists=usable,
        versioning=versioning,
        error=None if usable else "unreachable",
    )


def test_defaults_match_the_seed() -> None:
    settings = BookstoreSettings()
    assert settings.workspace_prefix == "workspace"
    assert settings.published_prefix == "published"
    assert settings.s3_access_key_id == ""
    assert settings.s3_secret_access_key == ""
    assert settings.s3_endpoint_url == ""
    assert settings.s3_region_name == "us-east-1"
    assert settings.s3_bucket == ""
    assert settings.max_threads == 16
    assert settings.enable_s3_cloning is True
    assert settings.fs_cloning_basedir == ""


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    values = {
        "s3_access_key_id": "AKID",
        "s3_secret_access_key": "SECRET",
        "s3_endpoint_url": "http://127.0.0.1:9000",
        "s3_region_name": "eu-west-3",
        "s3_bucket": "from-env",
    }
    for setting, value in values.items():
        monkeypatch.setenv(ENV_VARS[setting], value)
    settings = BookstoreSettings()
    for setting, value in values.items():
        assert getattr(settings, setting) == value


def test_explicit_config_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPYNB_S3_BUCKET", "from-env")
    monkeypatch.setenv("JPYNB_S3_REGION_NAME", "eu-west-3")
    config = Config()
    config.BookstoreSettings.s3_bucket = "from-config"
    settings = BookstoreSettings(config=config)
    assert settings.s3_bucket == "from-config"
    assert settings.s3_region_name == "eu-west-3"


def test_store_class_defaults_follow_the_bucket(tmp_path: Path) -> None:
    assert BookstoreSettings().resolve_store_class() is LocalStore
    assert BookstoreSettings(s3_bucket="b").resolve_store_class() is S3Store


def test_store_class_can_be_plugged_in() -> None:
    class MyStore(LocalStore):
        pass

    settings = BookstoreSettings(s3_bucket="b", store_class=MyStore)
    assert isinstance(settings.make_store(), MyStore)
    with pytest.raises(TraitError):
        BookstoreSettings(store_class=dict)


def test_local_store_dir_defaults_under_jupyter_data_dir() -> None:
    from jupyter_core.paths import jupyter_data_dir

    assert BookstoreSettings().local_store_dir == os.path.join(jupyter_data_dir(), "bookstore")


def test_max_threads_must_be_positive() -> None:
    with pytest.raises(TraitError, match="at least 1"):
        BookstoreSettings(max_threads=0)


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_checkpoints", 0), ("max_checkpoints", 1001), ("checkpoint_timeout", -1.0)],
)
def test_checkpoint_settings_are_checked(setting: str, value: float) -> None:
    with pytest.raises(TraitError, match=setting):
        BookstoreSettings(**{setting: value})


def test_validate_bookstore_on_configuration_alone(tmp_path: Path) -> None:
    features = validate_bookstore(BookstoreSettings())
    assert features == {
        "bookstore_valid": True,
        "archive_valid": True,
        "history_valid": True,
        "publish_valid": True,
        "s3_clone_valid": True,
        "fs_clone_valid": False,
    }
    unsafe = validate_bookstore(BookstoreSettings(workspace_prefix="a//b", published_prefix=".."))
    assert unsafe["archive_valid"] is False
    assert unsafe["history_valid"] is False
    assert unsafe["publish_valid"] is False
    per_user = validate_bookstore(BookstoreSettings(workspace_prefix="workspace/{username}"))
    assert per_user["archive_valid"] is True
    off = validate_bookstore(BookstoreSettings(enable_s3_cloning=False, published_prefix=""))
    assert off["s3_clone_valid"] is False
    assert off["publish_valid"] is False


@pytest.mark.parametrize(
    ("basedir", "valid"),
    [("", False), ("relative/dir", False), ("{tmp}/missing", False), ("{tmp}", True)],
)
def test_fs_clone_needs_an_absolute_existing_dir(tmp_path: Path, basedir: str, valid: bool) -> None:
    settings = BookstoreSettings(fs_cloning_basedir=basedir.format(tmp=tmp_path))
    assert validate_bookstore(settings)["fs_clone_valid"] is valid


def test_validate_bookstore_with_store_status() -> None:
    settings = BookstoreSettings(s3_bucket="b")
    assert all(
        validate_bookstore(settings, status())[flag]
        for flag in ("bookstore_valid", "archive_valid", "publish_valid", "s3_clone_valid")
    )
    unversioned = validate_bookstore(settings, status(versioning="Disabled"))
    assert unversioned["bookstore_valid"] is True
    assert unversioned["publish_valid"] is True
    assert unversioned["archive_valid"] is False
    assert unversioned["history_valid"] is False
    assert validate_bookstore(BookstoreSettings(archive_file_types=[]))["history_valid"] is True
    down = validate_bookstore(settings, status(usable=False))
    assert not any(down.values())
