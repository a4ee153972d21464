"""``python -m authorizer check CONFIG [--openapi FILE]``, ``explain CONFIG --token TOKEN
METHOD PATH`` and ``routes-from-openapi FILE [-o OUT]``.

``check`` validates a config and lists every problem (exit 1 when there are any), the
provider profile in effect for each issuer (its defaults marked), plus route pairs that a
cached policy cannot tell apart; with ``--openapi`` it also lists the drift between the
config and the API's OpenAPI document (exit 1 when there is any). ``explain`` prints the
decision for one request and why; it exits 0 whatever the decision, non-zero only for bad
input. ``routes-from-openapi`` prints the ``routes:`` an OpenAPI document implies. A bad
OpenAPI document exits 2. The OpenAPI modules (and their parser) are imported only by the
commands that read one. Each command is a module of its own (cli_check.py,
cli_explain.py, cli_openapi.py); this one reads the command line.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from authorizer.cli_check import check
from authorizer.cli_explain import explain
from authorizer.cli_openapi import routes_from_openapi


def _base_path_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--base-path",
        choices=("ignore", "prepend", "split"),
        default="ignore",
        help="what the servers' base path does to paths, as API Gateway's import option "
        "of that name (default ignore)",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m authorizer")
    sub = parser.add_subparsers(dest="command", required=True)
    p_check = sub.add_parser("check", help="validate a config file and list its problems")
    p_check.add_argument("config")
    p_check.add_argument("--openapi", help="also list drift from this OpenAPI document")
    _base_path_option(p_check)
    p_check.add_argument(
        "--api",
        choices=("rest", "http"),
        default="rest",
        help="whose route matching decides which rule an operation reaches (default rest)",
    )
    p_explain = sub.add_parser("explain", help="show the decision for one request and why")
    p_explain.add_argument("config")
    p_explain.add_argument("--token", required=True)
    p_explain.add_argument("--api", choices=("rest", "http", "websocket"), default="rest")
    p_explain.add_argument("method", help="GET, POST... (ignored for websocket)")
    p_explain.add_argument("path", help="the request path, e.g. /orders/42, or $connect")
    p_routes = sub.add_parser(
        "routes-from-openapi", help="print the routes an OpenAPI 3.0/3.1 document implies"
    )
    p_routes.add_argument("openapi", help="the API's OpenAPI document (JSON or YAML)")
    p_routes.add_argument("-o", "--output", help="write to this file instead of stdout")
    _base_path_option(p_routes)
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            code = check(args.config, args.openapi, args.base_path, args.api)
        elif args.command == "routes-from-openapi":
            code = routes_from_openapi(args.openapi, args.output, args.base_path)
        else:
            code = explain(args.config, args.token, args.method, args.path, args.api)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``explain ... | head``): what it read is all it wanted.
        # Point stdout at /dev/null so the interpreter's last flush fails no more
        # (the recipe of the Python docs, "Note on SIGPIPE").
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return code
