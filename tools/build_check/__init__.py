"""The checks of `python -m tools.check_build`, one module per question: the
distributions a function's requirements need (distributions.py), whether wheels and
compiled code suit Lambda's python3.13 on arm64 (lambda_platform.py), and whether the
build holds the repository's own packages as they are (own_packages.py)."""
