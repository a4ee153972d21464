"""checkov, the infrastructure scanner, on the template as CloudFormation deploys it.

template.yaml is translated offline for each parameter set (the loops expanded, the SAM
transform applied: tests/unit/test_template_translated.py) and checkov (pinned in the
Makefile, in its own environment) scans the results as plain CloudFormation, offline.
Every check it fails must be listed in checkov-skips.yaml with its reason, and every
check listed there must still fail (a stale skip hides nothing and must go).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.unit.test_template_translated import PARAMETER_SETS, translate

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = Path(os.environ.get("CHECKOV", ROOT / ".venv-checkov" / "bin" / "checkov"))
SKIPS = ROOT / "checkov-skips.yaml"
# Offline: checkov's only requests (Prisma Cloud guidelines, its version check) go to a
# closed local port and fail quietly, as SAM CLI's do in the Makefile.
OFFLINE = {f"{k}_proxy": "http://127.0.0.1:9" for k in ("http", "https")} | {
    f"{k}_PROXY": "http://127.0.0.1:9" for k in ("HTTP", "HTTPS")
}


Results = dict[str, dict[str, set[str]]]  # "passed"/"failed" -> check id -> where


SCAN = ["--skip-download", "--compact", "-o", "json"]


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Each check's passing and failing resources (template: resource)."""
    if not CHECKOV.exists():
        raise RuntimeError(f"checkov is not installed at {CHECKOV}: run `make checkov`")
    out = tmp_path_factory.mktemp("translated")
    for name, params in PARAMETER_SETS.items():
        (out / f"{name}.json").write_text(json.dumps(translate(params)), encoding="utf-8")
    environment = {k: v for k, v in os.environ.items() if k.lower() != "no_proxy"} | OFFLINE
    run = subprocess.run(
        [str(CHECKOV), "-d", str(out), "--framework", "cloudformation", *SCAN],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )
    assert run.returncode in (0, 1), run.stderr  # 1: some check failed
    reports = json.loads(run.stdout)
    found: Results = {"passed": {}, "failed": {}}
    for report in reports if isinstance(reports, list) else [reports]:
        assert report["summary"]["parsing_errors"] == 0
        assert report["summary"]["resource_count"] > 0
        for outcome in ("passed", "failed"):
            for check in report["results"][f"{outcome}_checks"]:
                where = f"{Path(check['file_path']).stem}: {check['resource']}"
                found[outcome].setdefault(check["check_id"], set()).add(where)
    return found


@pytest.fixture(scope="module")
def failed(results: Results) -> dict[str, set[str]]:
    return results["failed"]


@pytest.fixture(scope="module")
def skips() -> dict[str, str]:
    loaded = yaml.safe_load(SKIPS.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_checkov_finds_nothing_that_is_not_explained(
    failed: dict[str, set[str]], skips: dict[str, str]
) -> None:
    unexplained = {check: sorted(where) for check, where in failed.items() if check not in skips}
    assert unexplained == {}


def test_every_skip_has_its_reason_and_still_applies(
    failed: dict[str, set[str]], skips: dict[str, str]
) -> None:
    for check, reason in skips.items():
        assert isinstance(reason, str), check
        assert len(reason.split()) >= 10, check
    assert sorted(set(skips) - set(failed)) == []


@pytest.mark.parametrize(
    "check",
    [
        "CKV_AWS_76",  # the broker stage has an access log
        "CKV_AWS_66",  # every log group has a retention
        "CKV_AWS_73",  # X-Ray tracing on the broker stage
        "CKV_AWS_111",  # no IAM write access without constraints
        "CKV_AWS_364",  # service invoke permissions limited by SourceArn / SourceAccount
        "CKV_AWS_45",  # no hard-coded secret in a function's environment
    ],
)
def test_the_checks_that_matter_here_run_and_pass(results: Results, check: str) -> None:
    assert check in results["passed"]
    assert check not in results["failed"]
