"""What each sub-command of ``jupyter bookstore`` does (:class:`Command`), straight
against the store of a :class:`~bookstore.standalone.StandaloneBookstore`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from .._version import __version__
from ..core.access import Actor, check_may_read_audit
from ..core.annotations import check_changes
from ..core.areas import AREAS
from ..core.audit import AuditEvent
from ..core.clone import CloneRequest
from ..core.diff import (
    CURRENT,
    LATEST,
    DiffOptions,
    DiffSide,
    diff_refs,
    diff_summary,
    diff_versions,
)
from ..core.history import VersionItem, contents_model
from ..core.history_search import SearchHit, search_versions
from ..core.publish import PublishRequest
from ..core.restore import Written, restore
from ..errors import BookstoreError, InvalidPath, NotAllowed
from ..keys import check_version_id, is_notebook_path, notebook_path, s3_key
from ..notebooks import load_notebook_json, parse_notebook_bytes, read_notebook
from ..standalone import StandaloneBookstore, write_file_atomically
from .exits import (
    EXIT_DIFFERENT,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    CommandError,
)
from .output import (
    format_size,
    format_time,
    print_json,
    print_table,
    progress,
    shown_path,
    with_names,
)

__all__ = ["Command"]


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

    @contextlib.asynccontextmanager
    async def audited(self, action: str, **fields: Any) -> AsyncIterator[dict[str, Any]]:
        """Record ``action`` in the audit trail when the block ends (``refused`` with the
        message when it raises :class:`NotAllowed`), as the server does."""
        record = dict(fields)
        user = self.bookstore.actor.username
        try:
            yield record
        except NotAllowed as refusal:
            event = AuditEvent(action, user, outcome="refused", message=str(refusal), **record)
            await self.bookstore.record(event)
            raise
        await self.bookstore.record(AuditEvent(action, user, **record))

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
            print_json(document, self.out)
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
            print_table(rows, self.out)
        return EXIT_OK if store_status.usable else EXIT_UNAVAILABLE

    # -- versions ---------------------------------------------------------------------

    async def versions(self) -> int:
        args = self.args
        path = self.area_path(args.path)
        history = await self.bookstore.areas.history(self.area())
        if getattr(args, "search", None) is not None:
            return await self._search(history, path)
        items: list[VersionItem] = []
        token = args.page_token
        while True:
            page = await history.list_versions(
                path, limit=args.limit, token=token, named=getattr(args, "named", False)
            )
            items.extend(page.items)
            token = page.next_token
            if not args.all or token is None:
                break
        if not items and args.page_token is None and not getattr(args, "named", False):
            raise CommandError(self._no_versions(history, path), EXIT_NOT_FOUND)
        if self.as_json:
            print_json(
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
                    format_time(item.last_modified),
                    format_size(item.size),
                    " ".join(
                        label
                        for label, applies in (
                            ("latest", item.is_latest),
                            ("pending", item.pending),
                            ("pinned", item.pinned),
                        )
                        if applies
                    ),
                    item.path if item.path != path else "",
                ]
            )
        print_table(with_names(rows, items), self.out)
        if token is not None:
            self.out.write(f"(more: --page-token {token}, or --all)\n")
        return EXIT_OK

    def _no_versions(self, history: Any, path: str) -> str:
        """Which file has no versions, and where it was looked for."""
        key = history.key_for(path)
        if self.area() == "published":
            return f"{path!r} was never published (no versions of key {key!r})."
        bookstore = self.bookstore
        return (
            f"{path!r} has no versions: nothing was archived for {self.args.path!r} "
            f"(workspace file {str(bookstore.local_path(path))!r}, key {key!r}; workspace "
            f"root {str(bookstore.root_dir)!r}, from {bookstore.root_source}; another root: "
            "--root-dir)."
        )

    async def _search(self, history: Any, path: str) -> int:
        """``versions PATH --search TEXT``: the versions whose cells contain TEXT."""
        args = self.args
        hits: list[SearchHit] = []
        token = args.page_token
        scanned = skipped = 0
        while True:
            found = await search_versions(
                history,
                path,
                args.search,
                limit=args.limit,
                token=token,
                named=getattr(args, "named", False),
            )
            hits.extend(found.hits)
            scanned += found.scanned
            skipped += found.skipped
            token = found.next_token
            if not args.all or token is None:
                break
        if scanned == 0 and args.page_token is None:
            raise CommandError(self._no_versions(history, path), EXIT_NOT_FOUND)
        if self.as_json:
            document = found.to_dict(path)
            document["versions"] = [hit.to_dict() for hit in hits]
            document["search"].update(scanned=scanned, skipped=skipped)
            print_json(document, self.out)
            return EXIT_OK
        plural = "s" if scanned != 1 else ""
        if args.page_token is not None:
            where = f"{scanned} more version{plural}"
        elif token is None:
            where = f"all {scanned} version{plural}" if scanned != 1 else "its 1 version"
        else:
            where = f"the {scanned} newest versions"
        if not hits:
            self.out.write(f"{path}: {args.search!r} is in none of {where}\n")
        else:
            rows = [["VERSION", "SAVED", "SIZE", "CELL", "MATCH"]]
            for hit in hits:
                for n, match in enumerate(hit.matches):
                    first = n == 0
                    rows.append(
                        [
                            hit.item.id if first else "",
                            format_time(hit.item.last_modified) if first else "",
                            format_size(hit.item.size) if first else "",
                            f"{match['cell']} {match['cell_type']}",
                            match["snippet"],
                        ]
                    )
            print_table(rows, self.out)
            self.out.write(f"({len(hits)} of {where} contain {args.search!r})\n")
        if token is not None:
            self.out.write(f"(search on: --page-token {token}, or --all)\n")
        return EXIT_OK

    # -- show -----------------------------------------------------------------------------

    async def show(self) -> int:
        args = self.args
        path = self.area_path(args.path)
        history = await self.bookstore.areas.history(self.area())
        version = None if args.version in (None, LATEST) else args.version
        with progress(f"reading {path}", self.show_progress and bool(args.output)):
            stored, saved_path = await history.find(path, version)
        item = VersionItem.from_info(stored.info, saved_path)
        if self.as_json:
            print_json(await contents_model(path, stored.body, item), self.out)
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
        base_ref, remote_ref = diff_refs(self.area(), path, args.base, args.remote)
        options = DiffOptions.parse(",".join(args.hide or []), args.only)
        history = await self.bookstore.areas.history(self.area())
        result = await diff_versions(
            history, path, base_ref, remote_ref, self._current, options=options
        )
        base, remote = _label(result.base), _label(result.remote)
        if self.as_json:
            print_json(result.to_dict(path, content=False), self.out)
        elif not result.diff:
            shown = _shown_parts(options)
            self.out.write(f"{path}: no changes{shown} between {base} and {remote}\n")
        else:
            self._pretty_diff(path, base, remote, result.base_notebook, result.diff)
            self.out.write(f"\n{diff_summary(result.diff)['text']}{_shown_parts(options)}\n")
        if args.exit_code and result.diff:
            return EXIT_DIFFERENT
        return EXIT_OK

    async def _current(self, path: str) -> DiffSide:
        return await asyncio.to_thread(self._current_notebook, path)

    def _current_notebook(self, path: str) -> DiffSide:
        local = self.bookstore.local_path(path)
        try:
            body = local.read_bytes()
        except FileNotFoundError:
            raise CommandError(
                f"There is no file {path!r} in the workspace to compare with.", EXIT_NOT_FOUND
            ) from None
        modified = datetime.fromtimestamp(local.stat().st_mtime, tz=timezone.utc)
        return DiffSide.current(path, read_notebook(body), len(body), modified)

    def _pretty_diff(
        self, path: str, base: str, remote: str, base_notebook: dict[str, Any], diff: list[Any]
    ) -> None:
        from nbdime.prettyprint import PrettyPrintConfig, pretty_print_notebook_diff

        config = PrettyPrintConfig(
            out=self.out,
            use_git=False,
            use_diff=False,
            use_color=self.out.isatty() and not os.environ.get("NO_COLOR"),
        )
        pretty_print_notebook_diff(
            f"{path}@{base}", f"{path}@{remote}", base_notebook, diff, config
        )

    # -- restore ------------------------------------------------------------------------------

    async def restore(self) -> int:
        bookstore = self.bookstore
        path = bookstore.workspace_path(self.args.path)
        history = await bookstore.areas.history("workspace")
        key = s3_key(bookstore.areas.workspace_prefix(), path)
        async with self.audited(
            "restore", key=key, version_id=self.args.version, path=path
        ) as record:
            with progress(f"restoring {path}", self.show_progress):
                result = await restore(history, path, self.args.version, self)
            record["result"] = {"version_id": result.version_id, "archive": result.archive}
        if self.as_json:
            print_json(result.to_dict(), self.out)
        else:
            restored = result.restored_from
            tail = {
                "archived": f"; it is now version {result.version_id}",
                "pending": "; its new version is not in the store yet",
                "off": " (not archived)",
            }[result.archive]
            self.out.write(
                f"Restored {path} to version {restored.id} "
                f"of {format_time(restored.last_modified)}{tail}\n"
            )
        return EXIT_OK

    async def write_restored(self, path: str, body: bytes) -> Written:
        """Write a restored version over the workspace file and archive it (the
        :class:`~bookstore.core.restore.RestoreTarget` of the command line)."""
        bookstore = self.bookstore
        if is_notebook_path(path):
            await asyncio.to_thread(parse_notebook_bytes, body)
        # An archived file's content becomes a version first (write_workspace_file): a
        # restore never loses it.  Other files are overwritten only with --force.
        archived = bookstore.archives(path)
        if not archived and not self.args.force and await self._differs(path, body):
            raise CommandError(
                f"{path!r} is not archived (BookstoreSettings.archive_file_types), so "
                "restoring would lose what it holds now; pass --force to overwrite it.",
                EXIT_REFUSED,
            )
        new_version = await bookstore.write_workspace_file(path, body, overwrite=True)
        return Written("archived" if archived else "off", version_id=new_version)

    # -- names and pins ---------------------------------------------------------------------

    async def name(self) -> int:
        args = self.args
        if args.clear and args.text is not None:
            raise CommandError('Give a name ("sent to review") or --clear, not both.', EXIT_USAGE)
        changes: dict[str, Any] = {}
        if args.clear or args.text is not None:
            changes["name"] = None if args.clear else args.text
        if args.description is not None:
            changes["description"] = args.description
        if not changes:
            raise CommandError(
                'Give the name, e.g. "sent to review" (--clear removes it, --description '
                "describes the version).",
                EXIT_USAGE,
            )
        return await self._annotate(changes)

    async def pin(self) -> int:
        return await self._annotate({"pinned": True})

    async def unpin(self) -> int:
        return await self._annotate({"pinned": False})

    async def _annotate(self, changes: dict[str, Any]) -> int:
        """Apply ``changes`` to the note of version ``VERSION`` of ``PATH``, audited."""
        bookstore = self.bookstore
        path = bookstore.workspace_path(self.args.path)
        check_changes(changes)  # bad input is refused before anything is read
        history = await bookstore.areas.history("workspace")
        key = s3_key(bookstore.areas.workspace_prefix(), path)
        async with self.audited(
            "annotate", key=key, version_id=self.args.version, path=path
        ) as record:
            await bookstore.areas.annotations()  # refused, naming the setting, when off
            item = await history.annotate(
                path, self.args.version, changes, bookstore.actor.username
            )
            record["version_id"] = item.id
            record["result"] = {
                "name": item.name,
                "description": item.description,
                "pinned": item.pinned,
            }
        if self.as_json:
            print_json(item.to_dict(), self.out)
            return EXIT_OK
        what = [f"named {item.name!r}" if item.name else "unnamed"]
        if item.description:
            what.append("described")
        what.append("pinned" if item.pinned else "not pinned")
        self.out.write(
            f"Version {item.id} of {path} ({format_time(item.last_modified)}) is now "
            f"{', '.join(what)}\n"
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
            origin = {"path": request.source_path, "version_id": args.version}
        else:
            local = _absolute(args.path)
            if args.as_path:
                published = notebook_path(args.as_path, what="published path")
            else:
                published = notebook_path(self._default_published_path(local))
            body = await asyncio.to_thread(_read_local, local)
            notebook = await asyncio.to_thread(load_notebook_json, body)  # validated by publish
            request = PublishRequest(content=notebook, size=len(body))
            origin = {"file": shown_path(local)}
        async with self.audited(
            "publish", key=publisher.key_for(published), source=origin
        ) as record:
            with progress(f"publishing {published}", self.show_progress):
                result = await publisher.publish(published, request, bookstore.actor)
            record.update(version_id=result["versionID"], bucket=result["bucket"])
        if self.as_json:
            print_json(result, self.out)
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
        source = await self.bookstore.areas.s3_clone_source(restricted=self.bookstore.restricted)
        target = _absolute(args.output or key.rpartition("/")[2])
        async with self.audited(
            "clone", bucket=bucket or source.store.bucket, key=key, version_id=args.version
        ) as record:
            with progress(f"cloning {key}", self.show_progress):
                info, body = await source.fetch(request)
            if is_notebook_path(key):
                await asyncio.to_thread(parse_notebook_bytes, body)
            version = await self._write_clone(target, body, args.force)
            record.update(key=info.key, version_id=info.version_id, path=shown_path(target))
        document = {
            "s3_path": f"s3://{source.store.bucket if bucket is None else bucket}/{info.key}",
            "versionID": info.version_id,
            "path": target,
            "size": len(body),
            "workspace_version_id": version,
        }
        if self.as_json:
            print_json(document, self.out)
        else:
            shown = shown_path(target)
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

    # -- audit ------------------------------------------------------------------------

    async def audit(self) -> int:
        args = self.args
        bookstore = self.bookstore
        if bookstore.restricted:
            # Acting for a user: only the audit readers (the operator's shell reads all).
            actor = Actor(username=bookstore.actor.username, on_hub=True)
            check_may_read_audit(actor, list(bookstore.settings.audit_readers), "")
        log = await bookstore.areas.audit_log()
        events: list[dict[str, Any]] = []
        token = args.page_token
        while True:
            page = await log.page(limit=args.limit, token=token, user=args.user, action=args.action)
            events.extend(page.items)
            token = page.next_token
            if not args.all or token is None:
                break
        if self.as_json:
            print_json({"events": events, "next_token": token}, self.out)
            return EXIT_OK
        if not events:
            self.out.write("no audit events\n")
            return EXIT_OK
        rows = [["TIME", "USER", "ACTION", "OUTCOME", "KEY", "VERSION", "FROM"]]
        for event in events:
            where = event.get("origin") or {}
            rows.append(
                [
                    str(event.get("time", "")),
                    str(event.get("user", "")),
                    str(event.get("action", "")),
                    str(event.get("outcome", "")),
                    str(event.get("key") or event.get("path") or ""),
                    str(event.get("version_id") or ""),
                    f"{where.get('via', '')}@{where.get('host', '')}",
                ]
            )
        print_table(rows, self.out)
        if token is not None:
            self.out.write(f"(more: --page-token {token}, or --all)\n")
        return EXIT_OK

    # -- prune ------------------------------------------------------------------------

    async def prune(self) -> int:
        from ..config import BookstoreRuns
        from ..core.archive import Spool
        from ..core.retention import DROP_REASONS, pruner_for, run_versions_reader

        args = self.args
        bookstore = self.bookstore
        prefix = self._prune_prefix(args.prefix)
        runs_url = BookstoreRuns(config=bookstore.config).database_url
        pruner = await pruner_for(
            bookstore.areas,
            run_versions=run_versions_reader(runs_url),
            record=bookstore.record,
            pending=Spool(bookstore.spool_dir()),
            user=bookstore.actor.username,
        )
        with progress(f"pruning {prefix or 'the workspace'}", self.show_progress):
            report = await pruner.run(prefix, dry_run=args.dry_run)
        if self.as_json:
            print_json(report.to_dict(), self.out)
        else:
            listed = report.dropped if args.dry_run else report.deleted
            if listed:
                rows = [["PATH", "VERSION", "SAVED", "SIZE", "WHY"]]
                rows += [
                    [
                        item.path,
                        item.version_id,
                        format_time(item.last_modified),
                        format_size(item.size),
                        DROP_REASONS.get(item.reason, item.reason),
                    ]
                    for item in listed
                ]
                print_table(rows, self.out)
            files = _count(report.files, "file")
            kept = f"{_count(report.kept, 'version')} stay{'s' * (report.kept == 1)}"
            if args.dry_run:
                self.out.write(
                    f"Would delete {_count(len(report.dropped), 'version')} "
                    f"({_bytes(report.dropped_bytes)}) of {files}; {kept} "
                    "(dry run: nothing was deleted).\n"
                )
            else:
                self.out.write(
                    f"Deleted {_count(len(report.deleted), 'version')} "
                    f"({_bytes(report.deleted_bytes)}) of {files}; {kept}.\n"
                )
        if report.failed:
            item, error = report.failed[0]
            raise CommandError(
                f"{len(report.failed)} versions could not be deleted (first: {item.path} "
                f"version {item.version_id}: {error}); run prune again",
                EXIT_UNAVAILABLE,
            )
        return EXIT_OK

    def _prune_prefix(self, given: str | None) -> str:
        """PATH-PREFIX as a workspace path (``""``: the whole workspace, also when it names
        the workspace root)."""
        if not given:
            return ""
        root = self.bookstore.root_dir
        local = Path(_absolute(given))
        if local in (root, root.resolve()) or local.resolve() == root.resolve():
            return ""
        return self.bookstore.workspace_path(given)


def _count(number: int, noun: str) -> str:
    """``1 version``, ``3 versions``."""
    return f"{number} {noun}{'s' * (number != 1)}"


def _bytes(size: int) -> str:
    """``1,234 bytes (1.2 KB)``."""
    return f"{size:,} bytes ({format_size(size)})" if size >= 1000 else f"{size} bytes"


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def _shown_parts(options: DiffOptions) -> str:
    """`` (outputs only)`` or `` (metadata, outputs hidden)``: what a diff leaves out."""
    if options.only is not None:
        return f" ({options.only} only)"
    if options.hide:
        return f" ({', '.join(sorted(options.hide))} hidden)"
    return ""


def _label(reference: dict[str, Any]) -> str:
    return CURRENT if reference.get("current") else str(reference.get("id"))


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
