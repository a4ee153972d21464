"""The process a deployed function is: its environment, and a stdout like Lambda's.

``environment(function)`` gives what Lambda sets for a function of ``template.yaml``: the
runtime's own variables (``AWS_LAMBDA_FUNCTION_NAME`` and the rest, per the Lambda
Developer Guide, "Defined runtime environment variables"), the template's Globals and
function variables that are plain values or ``!Ref`` a parameter with a default
(``POWERTOOLS_*``), and an active-tracing trace header. Variables under a condition
(``!If``: the config sources) are left for the caller to set.

``piped_stdout()`` points file descriptor 1 at a pipe drained by another process, line
buffered: in Lambda the runtime reads the function's output from a pipe.

``runtime_logging()`` gives the root logger a handler, as Lambda's Python runtime does
before it imports the handler (Powertools then mutes it for the function's own records,
and the per-request line checks that on every call).

``one_cpu()`` keeps the process, and the pipe's reader it starts, on one CPU. Lambda gives
a function CPU in proportion to its memory (the equivalent of one vCPU at 1,769 MB; the
template's functions have 512 MB), so the function and the reader of its output share
that one CPU's time. On two CPUs every line must also wake the reader on the other CPU
(an inter-processor interrupt, which costs a VM 10 to 25 us per line here): the authorizer's
benchmark shows that figure beside the one measured on one CPU.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tools.cfn import load_template

SRC = Path(__file__).resolve().parents[2] / "src"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


def environment(function: str, template: dict[str, Any] | None = None) -> dict[str, str]:
    """The environment Lambda gives ``function`` (a logical id in template.yaml)."""
    template = template or load_template()
    parameters = template.get("Parameters", {})
    defaults = template["Globals"]["Function"]
    properties = template["Resources"][function]["Properties"]
    name = f"scopegate-{function}"
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(
            properties.get("MemorySize", defaults["MemorySize"])
        ),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/01/[$LATEST]0123456789abcdef0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{defaults['Runtime']}",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "ASIABENCHBENCHBENCH1",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_SESSION_TOKEN": "bench-session",
        "LAMBDA_TASK_ROOT": str(SRC),
        "_HANDLER": str(properties.get("Handler", "")),
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        "_X_AMZN_TRACE_ID": TRACE_HEADER,
    }
    for variables in (
        defaults.get("Environment", {}).get("Variables", {}),
        properties.get("Environment", {}).get("Variables", {}),
    ):
        for key, value in variables.items():
            if isinstance(value, str):
                env[key] = value
            elif isinstance(value, dict) and "Ref" in value and value["Ref"] in parameters:
                default = parameters[value["Ref"]].get("Default")
                if default is not None and default != "":
                    env[key] = str(default)
    return env


def runtime_logging() -> None:
    """A root handler like the runtime's (its output goes to stderr); once per process."""
    if not any(getattr(h, "lambda_runtime_like", False) for h in logging.root.handlers):
        handler = logging.StreamHandler()
        handler.lambda_runtime_like = True  # type: ignore[attr-defined]
        logging.root.addHandler(handler)


@contextlib.contextmanager
def one_cpu() -> Iterator[tuple[int | None, int | None]]:
    """This process on one CPU (the last it may use) until the block ends. Gives that CPU
    and another one it may use, for ``piped_stdout(reader_cpu=...)``; None for either
    where there is none or affinity cannot be set (then nothing changes)."""
    try:
        allowed = os.sched_getaffinity(0)
        cpu = max(allowed)
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):  # not Linux, or a sandbox that forbids it
        yield None, None
        return
    other = min(allowed - {cpu}, default=None)
    try:
        yield cpu, other
    finally:
        os.sched_setaffinity(0, allowed)


@contextlib.contextmanager
def piped_stdout(reader_cpu: int | None = None) -> Iterator[None]:
    """File descriptors 1 and 2 go to a pipe that a child process drains; line buffered.
    The reader runs where this process may (``one_cpu``), or on ``reader_cpu``."""
    drain = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    if reader_cpu is not None:
        os.sched_setaffinity(drain.pid, {reader_cpu})
    assert drain.stdin is not None
    stdout = sys.stdout
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(drain.stdin.fileno(), 1)
    os.dup2(drain.stdin.fileno(), 2)
    buffered = stdout.line_buffering if isinstance(stdout, io.TextIOWrapper) else None
    if isinstance(stdout, io.TextIOWrapper):
        stdout.reconfigure(line_buffering=True)
    try:
        yield
    finally:
        stdout.flush()
        sys.stderr.flush()
        if isinstance(stdout, io.TextIOWrapper) and buffered is not None:
            stdout.reconfigure(line_buffering=buffered)
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        drain.stdin.close()
        drain.wait()
