"""The README and docs/ say only what is true of the repository beside them.

A newcomer walks from the README to every page of docs/, follows relative links and
`#anchors` (resolved as GitHub renders heading anchors), pastes the commands shown, and sets
the environment variables named. So, for README.md and every docs/*.md:

- every page of docs/ is reachable from the README, directly or through pages it links;
- every relative link names a file of the repository, and its anchor a heading there;
- nothing refers to files outside the repository;
- each `make TARGET VAR=...` shown (in code) names a Makefile target and variables (a
  quoted value, `ARGS="--flavor http"`, is one value);
- each `python -m MODULE` shown is importable (src and the root on the path, as pytest and
  the Makefile set them) and runnable: a package with `__main__`, or a module that checks
  ``__name__ == "__main__"``;
- each repository path shown in code (`src/...`, `tests/...`, `tools/...`, `events/...`,
  `docs/...`) exists;
- each environment variable named is one the code reads. An environment variable is a name
  of the shapes scopegate and AWS use (`AUTHORIZER_*`, `BROKER_*`, `ROTATION_*`,
  `SCOPEGATE_*`, `POWERTOOLS_*`, `AWS_*`, `LAMBDA_*`) anywhere in a page; it must appear in
  src/ or tools/, or be in ``SET_ELSEWHERE`` (set by AWS or read by a library only).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"

# Environment variables the docs may name although no file of src/ or tools/ mentions them.
SET_ELSEWHERE = {
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "set by ECS in every container; botocore reads it",
    "POWERTOOLS_LOGGER_SAMPLE_RATE": "read by Powertools' Logger (the log's sampling_rate)",
}

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_INLINE = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)
# A make word: VAR=value (the value may be quoted, spaces and all) or a target.
_MAKE_WORD = r"""[A-Za-z_]\w*=(?:"[^"`]*"|'[^'`]*'|[^\s`"']*)|[a-z][\w-]*"""
_MAKE = re.compile(  # make, then targets and VAR=value words, up to anything else
    rf"(?<![\w/.-])make((?:[ \t]+(?:{_MAKE_WORD})(?=[\s,;:)`]|$))+)"
)
_PYTHON_M = re.compile(r"python(?:3(?:\.\d+)?)?[ \t]+-m[ \t]+([A-Za-z_][\w.]*)")
_ENV = re.compile(
    r"(?<!\w)(?:AUTHORIZER|BROKER|ROTATION|SCOPEGATE|POWERTOOLS|AWS|LAMBDA)_[A-Z0-9_]*[A-Z0-9]\b"
)
_REPO_PATH = re.compile(r"(?:src|tests|tools|events|docs|\.ci)/[\w./*+-]*")


def pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _name(page: Path) -> str:
    return str(page.relative_to(ROOT))


def prose(text: str) -> str:
    """The text outside fenced code blocks, where links and headings are markdown."""
    return _FENCE.sub("", text)


def code(text: str) -> list[str]:
    """Every fenced block and inline code span: what a reader pastes."""
    return _FENCE.findall(text) + _INLINE.findall(prose(text))


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its text, lowercased, punctuation dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for _, heading in _HEADING.findall(prose(page.read_text(encoding="utf-8"))):
        base = slug(heading)
        n = seen.get(base, 0)
        seen[base] = n + 1
        found.add(base if n == 0 else f"{base}-{n}")
    return frozenset(found)


def links(page: Path) -> list[tuple[str, Path, str]]:
    """(link as written, target file, anchor) for each relative link of a page."""
    text = _INLINE.sub("code", prose(page.read_text(encoding="utf-8")))
    found = []
    for target in _LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        found.append((target, (page.parent / path).resolve() if path else page, anchor))
    return found


def reachable() -> set[Path]:
    seen, todo = {README}, [README]
    while todo:
        for _, target, _ in links(todo.pop()):
            if target.suffix == ".md" and target.is_file() and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


@cache
def makefile() -> tuple[frozenset[str], frozenset[str]]:
    """The Makefile's targets and variables."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set()
    for names in re.findall(r"^([\w./$()-][^:=\n]*?):(?!=)", text, re.MULTILINE):
        targets.update(names.split())
    variables = re.findall(r"^(?:export[ \t]+)?([A-Za-z_]\w*)[ \t]*[?:+]?=", text, re.MULTILINE)
    return frozenset(targets), frozenset(variables)


@cache
def code_words() -> frozenset[str]:
    """Every ALL_CAPS word in src/ and tools/: the names the code can read."""
    words: set[str] = set()
    for top in ("src", "tools"):
        for path in (ROOT / top).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".yaml", ".json", ".js", ".toml"}:
                words.update(re.findall(r"\b[A-Z][A-Z0-9_]+\b", path.read_text(encoding="utf-8")))
    return frozenset(words)


def runnable(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    if spec is None:
        return False
    if spec.submodule_search_locations is not None:
        return importlib.util.find_spec(f"{module}.__main__") is not None
    return spec.origin is not None and '__name__ == "__main__"' in Path(spec.origin).read_text()


def test_every_page_of_docs_is_reachable_from_the_readme() -> None:
    unreached = [_name(p) for p in pages() if p not in reachable()]
    assert unreached == [], "link these from README.md or a page it links"


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_every_relative_link_resolves(page: Path) -> None:
    broken = []
    for written, target, anchor in links(page):
        if not target.is_relative_to(ROOT):
            broken.append(f"{written}: outside the repository")
        elif not target.exists():
            broken.append(f"{written}: no such file")
        elif anchor and (target.suffix != ".md" or anchor not in anchors(target)):
            broken.append(f"{written}: no heading with anchor #{anchor}")
    assert broken == []


# Files a clone does not have: what the repository was built from, beside it.
OUTSIDE = ("../" + "shared", "DESIGN" + ".md")


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_nothing_refers_outside_the_repository(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    assert [name for name in OUTSIDE if name in text] == []


def test_no_file_of_the_repository_refers_outside_it() -> None:
    """Code, comments and error messages too: a fresh clone has nothing beside it."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    found = []
    for name in filter(None, listed):
        path = ROOT / name.decode()
        if not path.is_file():  # deleted in the work tree, not yet committed
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{name.decode()}: {ref}" for ref in OUTSIDE if ref in text]
    assert found == []


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_each_make_command_names_a_target_and_variables_the_makefile_has(page: Path) -> None:
    targets, variables = makefile()
    unknown = []
    for snippet in code(page.read_text(encoding="utf-8")):
        for args in _MAKE.findall(snippet):
            for word in re.findall(_MAKE_WORD, args):
                name, is_variable, _ = word.partition("=")
                if name not in (variables if is_variable else targets):
                    unknown.append(f"make {args.strip()}: {name}")
    assert unknown == []


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_each_python_m_command_runs_a_module_that_exists(page: Path) -> None:
    modules = {m for s in code(page.read_text(encoding="utf-8")) for m in _PYTHON_M.findall(s)}
    assert [m for m in sorted(modules) if not runnable(m)] == []


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_each_repository_path_shown_exists(page: Path) -> None:
    shown = {p for s in code(page.read_text(encoding="utf-8")) for p in _REPO_PATH.findall(s)}
    missing = [p for p in sorted(shown) if not list(ROOT.glob(p.rstrip("/")))]
    assert missing == []


@pytest.mark.parametrize("page", pages(), ids=_name)
def test_each_environment_variable_named_is_one_the_code_reads(page: Path) -> None:
    named = set(_ENV.findall(page.read_text(encoding="utf-8")))
    assert sorted(named - code_words() - set(SET_ELSEWHERE)) == []


def test_the_readme_stays_short() -> None:
    assert len(README.read_text(encoding="utf-8").splitlines()) <= 200
