"""Archiving: every save of a workspace file becomes one version, durably and in order.

* :mod:`.archiver`: :class:`Archiver`, which turns the saves a Jupyter server reports into
  versions, off the request path, and records renames and deletes so histories follow
  the file;
* :mod:`.spool`: the local directory where each save waits until it is archived (it
  survives store outages and server crashes);
* :mod:`.lineage`: the metadata every version carries (content hash, save time, rename
  lineage) and :func:`archive_version`, the way writers without a server add a version.
"""

from .archiver import Archiver, ArchiveRecord, SpooledSave, default_spool_dir
from .lineage import archive_version, archived_type, lineage_of
from .spool import Spool, SpoolEntry

__all__ = [
    "ArchiveRecord",
    "Archiver",
    "Spool",
    "SpoolEntry",
    "SpooledSave",
    "archive_version",
    "archived_type",
    "default_spool_dir",
    "lineage_of",
]
