"""``python -m token_broker.client``: see ``token_broker.client.cli``."""

import sys

from token_broker.client import main

sys.exit(main())
