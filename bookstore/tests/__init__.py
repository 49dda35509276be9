"""bookstore 2.x's ``bookstore.tests``, kept for its ``test_dir``, which 2.x's own CI
configuration imports (``from bookstore.tests import test_dir``) to set
``fs_cloning_basedir``.  bookstore's test suite lives in ``tests/`` of the source tree."""

import os

#: A directory that exists wherever bookstore is installed (bookstore 2.x's name).
test_dir: str = os.path.realpath(os.path.dirname(__file__))
