"""``python -m models.cli``: the same as the ``stylecast`` command."""
import sys

from models.cli.main import main

sys.exit(main())
