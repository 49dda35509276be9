"""``jupyter bookstore``'s :func:`main`: from arguments to an exit status."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from traitlets import TraitError
from traitlets.config import Config

from ..errors import BookstoreError
from ..standalone import StandaloneBookstore, load_config
from .commands import Command
from .exits import EXIT_FAILED, EXIT_USAGE, CommandError, exit_code_for
from .parser import build_parser, config_overrides

__all__ = ["main"]


async def _run(
    args: argparse.Namespace, config: Config, run: Callable[[Command], Coroutine[Any, Any, int]]
) -> int:
    async with StandaloneBookstore(
        config, root_dir=args.root_dir, as_user=args.as_user
    ) as bookstore:
        # The run commands are a Command subclass (bookstore/cli/runs.py).
        command_class: type[Command] = getattr(args, "command_class", Command)
        return await run(command_class(args, bookstore))


def main(argv: list[str] | None = None) -> int:
    """Run ``jupyter bookstore``; returns the exit status (see :data:`EXIT_CODES`)."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    try:
        config = load_config()
        config.merge(config_overrides(extra))
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
