"""The bookstore release."""

import re

__version__ = "3.0.0.dev0"


def _version_info(version: str) -> tuple[int, int, int, str, str]:
    """bookstore 2.x's ``version_info``: (major, minor, micro, pre-release, dev suffix),
    e.g. ``(3, 0, 0, "", "dev0")``."""
    match = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?(.*?)(?:\.?(dev\d*))?$", version)
    if match is None:  # not PEP 440: keep importing bookstore working
        return 0, 0, 0, version, ""
    major, minor, micro, pre, dev = match.groups()
    return int(major), int(minor), int(micro or 0), pre, dev or ""


#: The release as bookstore 2.x gave it: (major, minor, micro, pre-release, dev suffix).
version_info = _version_info(__version__)
