"""``jupyter bookstore``: publish, clone and history from a terminal, with no server.

The command works straight against the store, configured as the Jupyter server is
(:mod:`bookstore.standalone`): Jupyter's config files, the ``JPYNB_S3_*`` variables,
``--BookstoreSettings.<name>=<value>`` options, and the embedded local store when no
bucket is set.  Workspace files are named as local paths (relative to the current
directory) inside the server's root directory (``--root-dir``, else ``ServerApp.root_dir``,
else the nearest folder up from the current directory that a server left its archive
spool for, else the current directory: see :mod:`bookstore.standalone`); published
notebooks by their published path.

Output is for people (tables, nbdime's diff) unless ``--json`` asks for one JSON
document.  Errors are one line on stderr, and the exit status says what happened
(:data:`EXIT_CODES`).

* :mod:`.main`: :func:`main`, from arguments to an exit status;
* :mod:`.parser`: the options and sub-commands;
* :mod:`.commands`: what each sub-command does;
* :mod:`.output`: tables, times, sizes, JSON and progress bars;
* :mod:`.exits`: the exit statuses, and which error gives which.
"""

from .exits import EXIT_CODES
from .main import main

__all__ = ["EXIT_CODES", "main"]
