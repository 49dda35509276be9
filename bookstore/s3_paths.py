"""bookstore 2.x's ``bookstore.s3_paths``; keys are made in :mod:`bookstore.keys`."""

from .keys import s3_display_path, s3_key, s3_path

__all__ = ["s3_display_path", "s3_key", "s3_path"]
