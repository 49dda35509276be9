"""``jupyter bookstore``: publish, clone and history from a terminal, with no server.

The command works straight against the store, configured as the Jupyter server is
(:mod:`bookstore.standalone`): Jupyter's config files, the ``JPYNB_S3_*`` variables,
``--BookstoreSettings.<name>=<value>`` options, and the embedded local store when no
bucket is set.  Workspace files are named as local paths (relative to the current
directory) inside the server's root directory (``ServerApp.root_dir``, else the current
directory, or ``--root-dir``); published notebooks by their published path.

Output is for people (tables, nbdime's diff) unless ``--json`` asks for one JSON
document.  Errors are one line on stderr, and the exit status says what happened
(:data:`EXIT_CODES`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn, TextIO

from traitlets import TraitError
from traitlets.config import Config
from traitlets.config.loader import KVArgParseConfigLoader

from ._version import __version__
from .areas import AREAS
from .bookstore_config import BookstoreSettings
from .clone import CloneRequest
from .errors import BookstoreError, InvalidPath, StoreError
from .handlers import json_default, status_for
from .notebook_files import (
    is_notebook_path,
    load_notebook_json,
    parse_notebook_bytes,
    read_notebook,
)
from .publish import PublishRequest, notebook_path
from .standalone import StandaloneBookstore, load_config, write_file_atomically
from .stores.base import transfer_progress
from .versions import (
    CURRENT,
    LATEST,
    VersionItem,
    check_version_id,
    contents_model,
    diff_notebooks,
    diff_summary,
)

__all__ = ["EXIT_CODES", "main"]

#: Exit statuses of ``jupyter bookstore``.
EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_REFUSED = 4
EXIT_UNAVAILABLE = 5
EXIT_FAILED = 6
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_DIFFERENT: "`diff --exit-code`: the two sides differ",
    EXIT_USAGE: "bad usage or invalid input (a malformed path, version id or notebook)",
    EXIT_NOT_FOUND: "no such file, key, bucket or version",
    EXIT_REFUSED: "not allowed by the configuration, or the target exists",
    EXIT_UNAVAILABLE: "the store cannot be reached or refused the credentials",
    EXIT_FAILED: "anything else (the message says what)",
}

#: Transfers shorter than this (seconds) show no progress bar.
PROGRESS_DELAY = 0.5

_CONFIG_OPTION = re.compile(r"^--BookstoreSettings\.\w+=")


class CommandError(Exception):
    """A failure the command reports as one line, with its exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exit_code_for(error: BookstoreError) -> int:
    """The exit status of a bookstore error (from the HTTP status the API gives it)."""
    status = status_for(error)
    if status == 404:
        return EXIT_NOT_FOUND
    if status in {403, 409}:
        return EXIT_REFUSED
    if status in {400, 413, 415, 422}:
        return EXIT_USAGE
    if isinstance(error, StoreError) or status >= 500:
        return EXIT_UNAVAILABLE
    return EXIT_FAILED


# -- output ----------------------------------------------------------------------------


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"  # pragma: no cover


def _time(value: str | datetime | None) -> str:
    if value is None:
        return "-"
    when = datetime.fromisoformat(value.replace("Z", "+00:00")) if isinstance(value, str) else value
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        out.write("  ".join(cells).rstrip() + "\n")


def _print_json(document: Any, out: TextIO) -> None:
    out.write(json.dumps(document, indent=2, default=json_default) + "\n")


@contextmanager
def _progress(label: str, enabled: bool) -> Iterator[None]:
    """A progress bar on stderr for transfers that take more than a moment: downloads
    report their bytes through the store's :data:`~bookstore.stores.base.transfer_progress`;
    an upload shows its label and elapsed time.  Shown only on a terminal."""
    if not enabled:
        yield
        return
    from tqdm import tqdm

    bar = tqdm(
        desc=label,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        delay=PROGRESS_DELAY,
        leave=False,
        file=sys.stderr,
        disable=None,
    )

    def received(chunk: int, total: int) -> None:
        if total and bar.total != total:
            bar.reset(total=total)
        bar.update(chunk)
        if total and bar.n >= total and time.monotonic() - started >= PROGRESS_DELAY:
            bar.refresh()  # show the end, however soon after the last refresh it came

    started = time.monotonic()
    token = transfer_progress.set(received)
    try:
        yield
    finally:
        transfer_progress.reset(token)
        bar.close()


# -- commands -----------------------------------------------------------------------------


class Command:
    """One run of ``jupyter bookstore``: the parsed options, the store, the output."""

    def __init__(self, args: argparse.Namespace, bookstore: StandaloneBookstore) -> None:
        self.args = args
        self.bookstore = bookstore
        self.out: TextIO = sys.stdout
        self.as_json: bool = bool(args.json)
        self.show_progress = not self.as_json

    def area(self) -> str:
        return "published" if getattr(self.args, "published", False) else "workspace"

    def area_path(self, given: str) -> str:
        """A workspace path from a local path, or a published path as given."""
        if self.area() == "published":
            return notebook_path(given, what="published path")
        return self.bookstore.workspace_path(given)

    # -- status ---------------------------------------------------------------------

    async def status(self) -> int:
        bookstore = self.bookstore
        settings = bookstore.settings
        store_status = await bookstore.status()
        pending, failed = bookstore.pending_archives()
        prefixes: dict[str, str | None] = {}
        for area in AREAS:
            try:
                prefixes[area] = bookstore.areas.key_prefix(area)
            except BookstoreError:
                prefixes[area] = None
        document = {
            "release": __version__,
            "store": store_status.to_dict(),
            "root_dir": str(bookstore.root_dir),
            "workspace_prefix": prefixes["workspace"],
            "published_prefix": prefixes["published"],
            "archive_file_types": list(settings.archive_file_types),
            "spool": {"dir": bookstore.spool_dir(), "pending": pending, "failed": failed},
        }
        if self.as_json:
            _print_json(document, self.out)
        else:
            store = store_status
            where = f"{store.backend} store, bucket {store.bucket!r}"
            state = "ok" if store.usable else f"NOT USABLE: {store.error}"
            rows = [
                ["store", f"{where} ({store.location or '-'})"],
                ["state", state],
                ["versioning", store.versioning],
                ["workspace", f"{prefixes['workspace'] or 'off'}/ <- {bookstore.root_dir}"],
                ["published", f"{prefixes['published'] or 'off'}/"],
                ["archived types", ", ".join(settings.archive_file_types) or "none (off)"],
                ["pending saves", f"{pending} waiting, {failed} set aside"],
                ["spool", bookstore.spool_dir()],
            ]
            _table(rows, self.out)
        return EXIT_OK if store_status.usable else EXIT_UNAVAILABLE

    # -- versions ---------------------------------------------------------------------

    async def versions(self) -> int:
        args = self.args
        path = self.area_path(args.path)
        history = await self.bookstore.areas.history(self.area())
        items: list[VersionItem] = []
        token = args.page_token
        while True:
            page = await history.list_versions(path, limit=args.limit, token=token)
            items.extend(page.items)
            token = page.next_token
            if not args.all or token is None:
                break
        if self.as_json:
            _print_json(
                {
                    "path": path,
                    "versions": [item.to_dict() for item in items],
                    "next_token": token,
                },
                self.out,
            )
            return EXIT_OK
        if not items:
            self.out.write(f"{path}: no versions\n")
            return EXIT_OK
        rows = [["VERSION", "SAVED", "SIZE", "", "AS"]]
        for item in items:
            rows.append(
                [
                    item.id,
                    _time(item.last_modified),
                    _size(item.size),
                    "latest" if item.is_latest else "",
                    item.path if item.path != path else "",
                ]
            )
        _table(rows, self.out)
        if token is not None:
            self.out.write(f"(more: --page-token {token}, or --all)\n")
        return EXIT_OK

    # -- show -----------------------------------------------------------------------------

    async def show(self) -> int:
        args = self.args
        path = self.area_path(args.path)
        history = await self.bookstore.areas.history(self.area())
        version = None if args.version in (None, LATEST) else args.version
        with _progress(f"reading {path}", self.show_progress and bool(args.output)):
            stored, saved_path = await history.find(path, version)
        item = VersionItem.from_info(stored.info, saved_path)
        if self.as_json:
            _print_json(await contents_model(path, stored.body, item), self.out)
        elif args.output:
            await asyncio.to_thread(_write_file, args.output, stored.body, args.force)
            sys.stderr.write(f"Wrote version {item.id} of {path} to {args.output}\n")
        else:
            self.out.flush()
            sys.stdout.buffer.write(stored.body)
            sys.stdout.buffer.flush()
        return EXIT_OK

    # -- diff -------------------------------------------------------------------------------

    async def diff(self) -> int:
        args = self.args
        path = self.area_path(args.path)
        if not is_notebook_path(path):
            raise CommandError("Diffs are for notebooks (.ipynb) only.", EXIT_USAGE)
        history = await self.bookstore.areas.history(self.area())
        remote_ref = args.remote or (CURRENT if self.area() == "workspace" else LATEST)

        async def current(path: str) -> tuple[dict[str, Any], dict[str, Any], int]:
            return await asyncio.to_thread(self._current_notebook, path)

        base, remote = await asyncio.gather(
            history.diff_side(path, args.base, current),
            history.diff_side(path, remote_ref, current),
        )
        result = await diff_notebooks(base, remote)
        if self.as_json:
            _print_json(result.to_dict(path, content=False), self.out)
        elif not result.diff:
            self.out.write(f"{path}: no changes between {_ref(base[0])} and {_ref(remote[0])}\n")
        else:
            self._pretty_diff(path, base, remote, result.diff)
            self.out.write(f"\n{diff_summary(result.diff)['text']}\n")
        if args.exit_code and result.diff:
            return EXIT_DIFFERENT
        return EXIT_OK

    def _current_notebook(self, path: str) -> tuple[dict[str, Any], dict[str, Any], int]:
        local = self.bookstore.local_path(path)
        try:
            body = local.read_bytes()
        except FileNotFoundError:
            raise CommandError(
                f"There is no file {path!r} in the workspace to compare with.", EXIT_NOT_FOUND
            ) from None
        stat = local.stat()
        reference = {
            "id": None,
            "path": path,
            "last_modified": datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc),
            "current": True,
        }
        return reference, read_notebook(body), len(body)

    def _pretty_diff(
        self,
        path: str,
        base: tuple[dict[str, Any], dict[str, Any], int],
        remote: tuple[dict[str, Any], dict[str, Any], int],
        diff: list[Any],
    ) -> None:
        from nbdime.prettyprint import PrettyPrintConfig, pretty_print_notebook_diff

        config = PrettyPrintConfig(
            out=self.out,
            use_git=False,
            use_diff=False,
            use_color=self.out.isatty() and not os.environ.get("NO_COLOR"),
        )
        pretty_print_notebook_diff(
            f"{path}@{_ref(base[0])}", f"{path}@{_ref(remote[0])}", base[1], diff, config
        )

    # -- restore ------------------------------------------------------------------------------

    async def restore(self) -> int:
        bookstore = self.bookstore
        path = bookstore.workspace_path(self.args.path)
        history = await bookstore.areas.history("workspace")
        with _progress(f"reading {path}", self.show_progress):
            stored, saved_path = await history.find(path, self.args.version)
        if is_notebook_path(path):
            await asyncio.to_thread(parse_notebook_bytes, stored.body)
        # An archived file's content becomes a version first (write_workspace_file): a
        # restore never loses it.  Other files are overwritten only with --force.
        archived = bookstore.archives(path)
        if not archived and not self.args.force and await self._differs(path, stored.body):
            raise CommandError(
                f"{path!r} is not archived (BookstoreSettings.archive_file_types), so "
                "restoring would lose what it holds now; pass --force to overwrite it.",
                EXIT_REFUSED,
            )
        new_version = await bookstore.write_workspace_file(path, stored.body, overwrite=True)
        if archived and new_version is None:
            # Identical to the latest version: that one is the restored state.
            new_version = (await history.store.head(history.key_for(path))).version_id
        document = {
            "path": path,
            "restored_from": VersionItem.from_info(stored.info, saved_path).to_dict(),
            "version_id": new_version,
            "archive": "archived" if archived else "off",
        }
        if self.as_json:
            _print_json(document, self.out)
        else:
            tail = f"; it is now version {new_version}" if new_version else " (not archived)"
            self.out.write(
                f"Restored {path} to version {stored.info.version_id} "
                f"of {_time(stored.info.last_modified)}{tail}\n"
            )
        return EXIT_OK

    # -- publish ----------------------------------------------------------------------------

    async def publish(self) -> int:
        args = self.args
        bookstore = self.bookstore
        publisher = await bookstore.areas.publisher()
        if args.version:
            check_version_id(args.version)
            source = bookstore.workspace_path(args.path)
            published = notebook_path(args.as_path or source, what="published path")
            request = PublishRequest(version_id=args.version, source_path=notebook_path(source))
            result = await publisher.publish(published, request)
        else:
            local = _absolute(args.path)
            if args.as_path:
                published = notebook_path(args.as_path, what="published path")
            else:
                published = notebook_path(self._default_published_path(local))
            body = await asyncio.to_thread(_read_local, local)
            notebook = await asyncio.to_thread(load_notebook_json, body)  # validated by publish
            with _progress(f"publishing {published}", self.show_progress):
                result = await publisher.publish(
                    published, PublishRequest(content=notebook, size=len(body))
                )
        if self.as_json:
            _print_json(result, self.out)
        else:
            self.out.write(f"Published {result['s3_path']} (version {result['versionID']})\n")
        return EXIT_OK

    def _default_published_path(self, local: str) -> str:
        """Published under its workspace path; a file outside the workspace by its name."""
        try:
            return self.bookstore.workspace_path(local)
        except InvalidPath:
            return os.path.basename(local)

    # -- clone ----------------------------------------------------------------------------------

    async def clone(self) -> int:
        args = self.args
        bucket, key = _bucket_and_key(args.bucket, args.key)
        if args.version is not None:
            check_version_id(args.version)
        request = CloneRequest(s3_bucket=bucket, s3_key=key, s3_version_id=args.version)
        source = await self.bookstore.areas.s3_clone_source()
        with _progress(f"cloning {key}", self.show_progress):
            info, body = await source.fetch(request)
        if is_notebook_path(key):
            await asyncio.to_thread(parse_notebook_bytes, body)
        target = _absolute(args.output or key.rpartition("/")[2])
        version = await self._write_clone(target, body, args.force)
        document = {
            "s3_path": f"s3://{source.store.bucket if bucket is None else bucket}/{info.key}",
            "versionID": info.version_id,
            "path": target,
            "size": len(body),
            "workspace_version_id": version,
        }
        if self.as_json:
            _print_json(document, self.out)
        else:
            shown = _shown(target)
            self.out.write(f"Cloned {document['s3_path']} (version {info.version_id}) to {shown}\n")
        return EXIT_OK

    async def _differs(self, path: str, body: bytes) -> bool:
        """True when workspace file ``path`` exists and holds something else than ``body``."""
        current = self.bookstore.local_path(path)
        if not await asyncio.to_thread(current.is_file):
            return False
        return await asyncio.to_thread(current.read_bytes) != body

    async def _write_clone(self, target: str, body: bytes, force: bool) -> str | None:
        """Write the clone; inside the workspace it is archived like any save."""
        bookstore = self.bookstore
        try:
            path = bookstore.workspace_path(target)
        except InvalidPath:
            await asyncio.to_thread(_write_file, target, body, force)
            return None
        return await bookstore.write_workspace_file(path, body, overwrite=force)


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _shown(path: str) -> str:
    """``path`` relative to the current directory when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _ref(reference: dict[str, Any]) -> str:
    return "current" if reference.get("current") else str(reference.get("id"))


def _bucket_and_key(bucket: str, key: str | None) -> tuple[str | None, str]:
    """``BUCKET KEY``, or one ``s3://bucket/key`` URL."""
    if key is None:
        if not bucket.startswith("s3://") or "/" not in bucket[5:]:
            raise CommandError("Name the object as BUCKET KEY or as s3://BUCKET/KEY.", EXIT_USAGE)
        bucket, _, key = bucket[5:].partition("/")
    return bucket or None, key


def _read_local(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise CommandError(f"There is no file {path!r}.", EXIT_NOT_FOUND) from None
    except IsADirectoryError:
        raise CommandError(f"{path!r} is a folder, not a notebook.", EXIT_USAGE) from None


def _write_file(path: str, body: bytes, force: bool) -> None:
    write_file_atomically(Path(_absolute(path)), body, overwrite=force)


# -- the parser --------------------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line on stderr (exit 2), like every other error."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("jupyter bookstore").strip()
        hint = f"jupyter bookstore {command} --help" if command else "jupyter bookstore --help"
        self.exit(EXIT_USAGE, f"jupyter bookstore: error: {message} (see {hint})\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jupyter bookstore``."""
    common = _Parser(add_help=False)
    common.add_argument("--json", action="store_true", help="print one JSON document")
    common.add_argument(
        "--debug", action="store_true", help="show the traceback of an unexpected error"
    )
    common.add_argument(
        "--root-dir",
        help="the workspace root (default: ServerApp.root_dir, else the current directory)",
    )
    parser = _Parser(
        prog="jupyter bookstore",
        description=(
            "Publish, clone and browse the history of notebooks in bookstore's store, "
            "configured like the Jupyter server. Settings may also be given as "
            "--BookstoreSettings.<name>=<value>."
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
    return parser


def _limit(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a whole number") from None
    if not 1 <= number <= 1000:
        raise argparse.ArgumentTypeError("must be between 1 and 1000")
    return number


def _config_overrides(extra: list[str]) -> Config:
    unknown = [arg for arg in extra if not _CONFIG_OPTION.match(arg)]
    if unknown:
        hint = ""
        if any(arg.startswith("--BookstoreSettings.") for arg in unknown):
            hint = " (write a setting as --BookstoreSettings.<name>=<value>)"
        raise CommandError(f"unrecognized arguments: {' '.join(unknown)}{hint}", EXIT_USAGE)
    settings = set(BookstoreSettings.class_trait_names(config=True))
    for arg in extra:
        name = arg.partition("=")[0].partition(".")[2]
        if name not in settings:
            raise CommandError(
                f"BookstoreSettings has no setting {name!r} (see the README's configuration "
                "reference)",
                EXIT_USAGE,
            )
    loader = KVArgParseConfigLoader(argv=extra, classes=[BookstoreSettings])
    return loader.load_config()


async def _run(
    args: argparse.Namespace, config: Config, run: Callable[[Command], Coroutine[Any, Any, int]]
) -> int:
    async with StandaloneBookstore(config, root_dir=args.root_dir) as bookstore:
        return await run(Command(args, bookstore))


def main(argv: list[str] | None = None) -> int:
    """Run ``jupyter bookstore``; returns the exit status (see :data:`EXIT_CODES`)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        config = load_config()
        config.merge(_config_overrides(extra))
        return asyncio.run(_run(args, config, args.run))
    except CommandError as exc:
        return _fail(str(exc), exc.exit_code)
    except BookstoreError as exc:
        return _fail(str(exc), exit_code_for(exc))
    except TraitError as exc:
        return _fail(f"invalid configuration: {exc}", EXIT_USAGE)
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), EXIT_FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except Exception as exc:
        if args.debug:
            raise
        return _fail(f"unexpected {type(exc).__name__}: {exc} (--debug shows more)", EXIT_FAILED)


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"jupyter bookstore: error: {message}\n")
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
