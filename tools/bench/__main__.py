"""``python -m tools.bench``: every benchmark of ``make bench``, one after another, each in a
process of its own; exits 1 when any of them misses a target.

``make bench`` runs the authorizer's in ``.venv-lambda`` (only what the function's bundle
holds, plus PyJWT for the comparison); run this way, each runs in this interpreter.
"""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = ("authorizer", "broker", "fleet", "load")


def main() -> int:
    failed = [
        name
        for name in BENCHMARKS
        if subprocess.run([sys.executable, "-m", f"tools.bench.{name}"], check=False).returncode
    ]
    if failed:
        print(f"bench: targets missed in {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
