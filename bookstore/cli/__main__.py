"""``python -m bookstore.cli``: the same as ``jupyter bookstore``."""

import sys

from .main import main

sys.exit(main())
