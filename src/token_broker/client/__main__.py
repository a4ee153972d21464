"""``python -m token_broker.client``: the ``scopegate-token`` command; see ``cli.py``."""

import sys

from token_broker.client.cli import main

sys.exit(main(prog="python -m token_broker.client"))
