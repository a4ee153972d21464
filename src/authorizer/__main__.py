"""``python -m authorizer``: see ``authorizer.cli``."""

import sys

from authorizer.cli import main

sys.exit(main())
