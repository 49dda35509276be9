"""The options and sub-commands of ``jupyter bookstore``."""

from __future__ import annotations

import argparse
import re
from typing import Any, NoReturn

from traitlets.config import Config
from traitlets.config.loader import KVArgParseConfigLoader

from .._version import __version__
from ..config import BookstoreRuns, BookstoreSettings
from ..core.audit import ACTIONS
from ..core.diff import LATEST
from ..core.diff_filter import HIDE_PARTS, ONLY_PARTS
from .commands import Command
from .exits import EXIT_CODES, EXIT_USAGE, CommandError
from .runs import add_run_commands

__all__ = ["build_parser", "config_overrides"]

_CONFIG_OPTION = re.compile(r"^--(BookstoreSettings|BookstoreRuns)\.\w+=")
#: The classes configured by ``--<Class>.<name>=<value>`` options.
_CONFIG_CLASSES = {"BookstoreSettings": BookstoreSettings, "BookstoreRuns": BookstoreRuns}


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("jupyter bookstore").strip()
        hint = f"jupyter bookstore {command} --help" if command else "jupyter bookstore --help"
        self.exit(EXIT_USAGE, f"jupyter bookstore: error: {message} (see {hint})\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jupyter bookstore``."""
    common = _common_options()
    parser = _Parser(
        prog="jupyter bookstore",
        description=(
            "Publish, clone and browse the history of notebooks in bookstore's store, "
            "configured like the Jupyter server; run notebooks now or on a schedule. "
            "Settings may also be given as --BookstoreSettings.<name>=<value> (runs: "
            "--BookstoreRuns.<name>=<value>)."
        ),
        epilog="exit status: "
        + "; ".join(f"{code} {meaning}" for code, meaning in EXIT_CODES.items()),
    )
    parser.add_argument("--version", action="version", version=f"bookstore {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    status = commands.add_parser(
        "status", parents=[common], help="the store, the prefixes and pending archives"
    )
    status.set_defaults(run=Command.status)

    def area_option(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--published",
            action="store_true",
            help="PATH is a published notebook (as in the catalog), not a workspace file",
        )

    versions = commands.add_parser(
        "versions", parents=[common], help="list a notebook's versions, newest first"
    )
    versions.add_argument(
        "path",
        metavar="PATH",
        help="a workspace file (local path); with --published, a published path",
    )
    area_option(versions)
    versions.add_argument("--limit", type=_limit, default=20, help="versions per page (20)")
    versions.add_argument("--page-token", help="continue a listing (printed after a page)")
    versions.add_argument("--all", action="store_true", help="every version, all pages")
    versions.set_defaults(run=Command.versions)

    show = commands.add_parser(
        "show", parents=[common], help="print a version's content (or write it to a file)"
    )
    show.add_argument("path", metavar="PATH")
    show.add_argument("version", metavar="VERSION", nargs="?", help="a version id (default latest)")
    area_option(show)
    show.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    show.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    show.set_defaults(run=Command.show)

    diff = commands.add_parser(
        "diff", parents=[common], help="nbdime's diff of two versions of a notebook"
    )
    diff.add_argument("path", metavar="PATH")
    diff.add_argument(
        "base", metavar="BASE", nargs="?", default=LATEST, help="version id or 'latest' (default)"
    )
    diff.add_argument(
        "remote",
        metavar="REMOTE",
        nargs="?",
        help="version id, 'latest' or 'current' (the file now; default for workspace files)",
    )
    area_option(diff)
    diff.add_argument(
        "--exit-code", action="store_true", help="exit with 1 when the two sides differ"
    )
    diff.set_defaults(run=Command.diff)

    _add_write_commands(commands, common)
    _add_history_options(versions, diff)
    _add_annotate(commands, common, versions)
    _add_audit(commands, common)
    _add_prune(commands, common)
    add_run_commands(commands, common)
    return parser


def _add_write_commands(commands: Any, common: _Parser) -> None:
    """``restore``, ``publish`` and ``clone``: the commands that write."""
    restore = commands.add_parser(
        "restore",
        parents=[common],
        help="write a version over the workspace file (archived as a new version, if its type is)",
    )
    restore.add_argument("path", metavar="PATH")
    restore.add_argument("version", metavar="VERSION")
    restore.add_argument(
        "--force",
        action="store_true",
        help="overwrite a file that is not archived (its content is then lost)",
    )
    restore.set_defaults(run=Command.restore)

    publish = commands.add_parser(
        "publish", parents=[common], help="publish a notebook (a new published version)"
    )
    publish.add_argument("path", metavar="PATH", help="the notebook file")
    publish.add_argument(
        "--as",
        dest="as_path",
        metavar="PUBLISHED_PATH",
        help="publish under this path (default: its workspace path)",
    )
    publish.add_argument(
        "--version", metavar="ID", help="publish this archived version of PATH instead"
    )
    publish.set_defaults(run=Command.publish)

    clone = commands.add_parser(
        "clone", parents=[common], help="copy an object (any version) from the store to a file"
    )
    clone.add_argument("bucket", metavar="BUCKET", help="a bucket, or s3://BUCKET/KEY")
    clone.add_argument("key", metavar="KEY", nargs="?")
    clone.add_argument("--version", metavar="ID", help="the version to clone (default latest)")
    clone.add_argument("-o", "--output", metavar="TARGET", help="the file to write")
    clone.add_argument("--force", action="store_true", help="overwrite TARGET if it exists")
    clone.set_defaults(run=Command.clone)


def _add_history_options(versions: argparse.ArgumentParser, diff: argparse.ArgumentParser) -> None:
    """``versions --search TEXT``, ``diff --hide PARTS --only outputs``."""
    versions.add_argument(
        "--search",
        metavar="TEXT",
        help="only the versions whose cells' source or text outputs contain TEXT "
        "(case-insensitive; 200 versions scanned per page, --all scans everything)",
    )
    diff.add_argument(
        "--hide",
        metavar="PARTS",
        action="append",
        help=f"leave these out of the diff, comma-separated: {', '.join(HIDE_PARTS)}",
    )
    diff.add_argument(
        "--only",
        choices=ONLY_PARTS,
        help="only the outputs' changes (wins over --hide outputs)",
    )


def _common_options() -> _Parser:
    """The options every sub-command takes."""
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    common.add_argument(
        "--root-dir",
        help="the workspace root (default: ServerApp.root_dir, else the nearest folder up "
        "from here that a server was started in, else the current directory)",
    )
    common.add_argument(
        "--as-user",
        metavar="NAME",
        help="act for this user: their workspace prefix, their clone_allowed_prefixes, "
        "their publications (default: JUPYTERHUB_USER, else the OS user)",
    )
    return common


def _add_annotate(commands: Any, common: _Parser, versions: argparse.ArgumentParser) -> None:
    """``jupyter bookstore name``, ``pin`` and ``unpin``; ``versions --named``."""
    versions.add_argument(
        "--named", action="store_true", help="only the versions that are named or pinned"
    )
    name = commands.add_parser(
        "name", parents=[common], help="name (and describe) a version of a workspace file"
    )
    name.add_argument("path", metavar="PATH", help="a workspace file (local path)")
    name.add_argument("version", metavar="VERSION", help="a version id, as `versions` lists it")
    name.add_argument("text", metavar="NAME", nargs="?", help='the name, e.g. "sent to review"')
    name.add_argument("--description", metavar="TEXT", help='a description ("" removes it)')
    name.add_argument("--clear", action="store_true", help="remove the name")
    name.set_defaults(run=Command.name)
    for command, run, does in (
        ("pin", Command.pin, "pin a version: retention keeps it forever"),
        ("unpin", Command.unpin, "unpin a version"),
    ):
        sub = commands.add_parser(command, parents=[common], help=does)
        sub.add_argument("path", metavar="PATH", help="a workspace file (local path)")
        sub.add_argument("version", metavar="VERSION", help="a version id")
        sub.set_defaults(run=run)


def _add_audit(commands: Any, common: _Parser) -> None:
    """``jupyter bookstore audit``."""
    audit = commands.add_parser(
        "audit",
        parents=[common],
        help="the audit trail: publishes, unpublishes, restores and clones, newest first",
    )
    audit.add_argument("--user", help="only this user's actions")
    audit.add_argument("--action", choices=ACTIONS, help="only this action")
    audit.add_argument("--limit", type=_limit, default=20, help="events per page (20)")
    audit.add_argument("--page-token", help="continue a listing (printed after a page)")
    audit.add_argument("--all", action="store_true", help="every event, all pages")
    audit.set_defaults(run=Command.audit)


def _add_prune(commands: Any, common: _Parser) -> None:
    """``jupyter bookstore prune``."""
    prune = commands.add_parser(
        "prune",
        parents=[common],
        help="delete the versions BookstoreSettings.retention lets go, for good",
        description="Apply BookstoreSettings.retention to the workspace: every version the "
        "policies let go is deleted for good (pinned, named, published, run, latest and "
        "pending versions never are). Try --dry-run first.",
    )
    prune.add_argument(
        "prefix",
        metavar="PATH-PREFIX",
        nargs="?",
        help="only files in this folder (or this file), a local path (default: the whole "
        "workspace)",
    )
    prune.add_argument(
        "--dry-run", action="store_true", help="only list what would be deleted, and its size"
    )
    prune.set_defaults(run=Command.prune)


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if not 1 <= number <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return number


def config_overrides(extra: list[str]) -> Config:
    """The configuration given as ``--BookstoreSettings.<name>=<value>`` and
    ``--BookstoreRuns.<name>=<value>`` options (the last of a repeated one wins);
    :class:`CommandError` for any other unknown option."""
    unknown = [arg for arg in extra if not _CONFIG_OPTION.match(arg)]
    if unknown:
        hint = ""
        for class_name in _CONFIG_CLASSES:
            if any(arg.startswith(f"--{class_name}.") for arg in unknown):
                hint = f" (write a setting as --{class_name}.<name>=<value>)"
                break
        raise CommandError(f"unrecognized arguments: {' '.join(unknown)}{hint}", EXIT_USAGE)
    for arg in extra:
        class_name, _, name = arg.partition("=")[0].removeprefix("--").partition(".")
        if name not in _CONFIG_CLASSES[class_name].class_trait_names(config=True):
            raise CommandError(
                f"{class_name} has no setting {name!r} (see the README's configuration reference)",
                EXIT_USAGE,
            )
    # A setting given twice: the last one wins (traitlets refuses repeated scalars).
    last = {arg.partition("=")[0]: arg for arg in extra}
    loader = KVArgParseConfigLoader(
        argv=list(last.values()), classes=list(_CONFIG_CLASSES.values())
    )
    return loader.load_config()
