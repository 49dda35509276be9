"""The bookstore release."""

import re

__version__ = "3.0.0.dev0"


def _version_info(version: str) -> tuple[int, int, int, str, str]:
    """bookstore 2.x's ``version_info``: (major, minor, micro, pre-release, dev suffix),
    e.g. ``(3, 0, 0, "", "dev0")``."""
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?([^.]*)(?:\.dev(\d*))?", version)
    if match is None:
        raise ValueError(f"not a bookstore release: {version!r}")
    major, minor, micro, pre, dev = match.groups()
    suffix = "" if dev is None else f"dev{dev}"
    return int(major), int(minor), int(micro or 0), pre, suffix


#: The release as bookstore 2.x gave it: (major, minor, micro, pre-release, dev suffix).
version_info = _version_info(__version__)
