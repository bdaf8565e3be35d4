"""Every command in README.md and docs/*.md works as written.

Each shell block (```sh / ```bash) is preceded by a marker that says what can be done
with it here, and an unmarked block fails this test:

    <!-- commands: run -->     run here, as written, in a fresh copy of the repository
    <!-- commands: serve -->   started in a fresh copy; must answer on SERVE_URL; then the
                               blocks marked `with-server` run against it, and it is stopped
    <!-- commands: with-server -->
    <!-- commands: ci -->      the set-up and test commands: .ci/run runs each of them
    <!-- commands: aws -->     needs AWS credentials and the Pulumi CLI: checked, not run
    <!-- commands: docker -->  builds and runs images (minutes, a container): checked, not run

Every block, run or not, is checked: bash syntax, every program is one the docs may use,
every `.venv/bin/python -m MODULE [SUBCOMMAND] --option` is accepted by that module's
`--help`, every script exists and takes the options used, every `pulumi` command is one
the Pulumi CLI has. Inline commands (`` `.venv/bin/python -m ...` `` in tables) are
checked the same way.

The fresh copy is the repository's files (tracked and new, as in the working tree)
after the documented test set-up: the shared virtualenv, and the real CSV at
data/chipotle_stores.csv (where the tests put it; a clone elsewhere fetches it).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import REPO_ROOT, real_csv, require

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
MODES = {"run", "serve", "with-server", "ci", "aws", "docker"}
SERVE_URL = "http://127.0.0.1:8000/"
PYTHON = ".venv/bin/python"
# What the docs' shell blocks may call; anything else is a command nobody checks.
PROGRAMS = {
    PYTHON,
    ".venv/bin/pytest",
    "pulumi",
    "curl",
    "docker",
    "export",
    "sh",
    "cd",
    "bash",
    "grep",
    "xargs",
}
# The Pulumi CLI commands the docs may use (pulumi --help; no Pulumi CLI on these machines).
PULUMI_COMMANDS = {
    ("up",), ("destroy",), ("preview",), ("refresh",), ("login",), ("stack", "select"),
    ("stack", "output"), ("stack", "rm"), ("stack", "init"), ("stack", "ls"),
    ("config", "set"), ("config", "rm"), ("config", "get"), ("state", "delete"),
}  # fmt: skip
# The AWS CLI commands the docs may use (aws help; no AWS CLI on these machines).
AWS_COMMANDS = {
    ("logs", "filter-log-events"), ("logs", "tail"), ("lambda", "list-versions-by-function"),
    ("ecr", "delete-repository"), ("ecr", "describe-repositories"),
}  # fmt: skip
_FENCE = re.compile(r"(?:<!-- commands: ([\w-]+) -->\n)?```(sh|bash)\n(.*?)^```", re.DOTALL | re.MULTILINE)
_INLINE = re.compile(r"`(\.venv/bin/python -m [^`]+)`")
_SUBSTITUTION = re.compile(r"\$\(([^()]*)\)")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Block:
    doc: Path
    line: int
    mode: str | None
    text: str

    def __str__(self) -> str:
        return f"{self.doc.relative_to(REPO_ROOT)}:{self.line}"


def blocks() -> list[Block]:
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for match in _FENCE.finditer(text):
            line = text.count("\n", 0, match.start(2)) + 1
            found.append(Block(doc, line, match.group(1), match.group(3)))
    return found


def without_comments(text: str) -> str:
    """Shell text with its comments removed (a `#` that starts a word outside quotes)."""
    kept, quote, skipping = [], None, False
    for i, char in enumerate(text):
        if skipping and char != "\n":
            continue
        skipping = False
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or text[i - 1].isspace()):
            skipping = True
            continue
        kept.append(char)
    return "".join(kept)


def commands(text: str) -> list[list[str]]:
    """The simple commands of a shell text (lines, `&&`, `|`, `;`, `&`, `$(...)`), as words."""
    text = without_comments(text).replace("\\\n", " ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace = " \t\r"  # a newline ends a command
    lexer.wordchars += "$:{}@,%+"  # parts of words in the docs: $VAR, ${URL}, host:port, k=3,...
    found: list[list[str]] = [[]]
    substituted: list[list[str]] = []
    for token in lexer:
        if token == "\n" or set(token) <= set(";&|()"):
            found.append([])
            continue
        for inner in _SUBSTITUTION.findall(token):
            substituted += commands(inner)
        if found[-1] or not _ASSIGNMENT.match(token):
            found[-1].append(token)
    return [words for words in found + substituted if words]


@functools.cache
def help_text(*command: str) -> str:
    proc = subprocess.run([PYTHON, *command, "--help"], capture_output=True, text=True, cwd=REPO_ROOT)
    assert proc.returncode == 0, f"{' '.join(command)} --help failed: {proc.stderr[-2000:]}"
    return proc.stdout


def options(words: list[str]) -> list[str]:
    return [word.split("=")[0] for word in words if word.startswith("--")]


def check_python_module(words: list[str]) -> None:
    """`.venv/bin/python -m MODULE [SUBCOMMAND] ...`: each --option is in that --help."""
    assert words[1] == "-m", f"{shlex.join(words)}: the docs run modules with -m"
    module = words[2]
    path = REPO_ROOT / Path(*module.split("."))
    source = path.with_suffix(".py") if path.with_suffix(".py").is_file() else path / "__main__.py"
    assert source.is_file(), f"no module {module}"
    text = source.read_text()
    if "argparse" not in text and "from serving import" not in text:  # a platform command line: argparse
        assert not options(words), f"{module} takes no options"
        return
    rest, command = words[3:], ("-m", module)
    if rest and not rest[0].startswith("-") and f"{{{rest[0]}" in help_text(*command).replace(",", "{"):
        command, rest = (*command, rest[0]), rest[1:]
    text = help_text(*command)
    for option in options(rest):
        assert re.search(rf"{re.escape(option)}\b", text), f"{' '.join(command)} has no {option}"


def check_command(words: list[str]) -> None:
    program = words[0]
    if program.startswith("scripts/"):
        script = REPO_ROOT / program
        assert script.is_file() and os.access(script, os.X_OK), f"{program} is not an executable script"
        for option in options(words[1:]):
            assert option in script.read_text(), f"{program} takes no {option}"
    elif program == PYTHON:
        check_python_module(words)
    elif program == "pulumi":
        subcommand = tuple(w for w in words[1:3] if not w.startswith("-"))
        assert subcommand[:1] in PULUMI_COMMANDS or subcommand in PULUMI_COMMANDS, shlex.join(words)
    elif program == "aws":
        assert tuple(words[1:3]) in AWS_COMMANDS, shlex.join(words)
    else:
        assert program in PROGRAMS, f"{program}: not a program the docs may use ({shlex.join(words)})"


@pytest.mark.parametrize("block", blocks(), ids=str)
def test_every_shell_block_is_marked_and_checked(block):
    assert block.mode in MODES, f"{block}: mark it with <!-- commands: MODE --> (one of {sorted(MODES)})"
    syntax = subprocess.run(["bash", "-n"], input=block.text, capture_output=True, text=True)
    assert syntax.returncode == 0, f"{block}: {syntax.stderr}"
    for words in commands(block.text):
        check_command(words)


def test_every_inline_command_is_checked():
    inline = [match for doc in DOCS for match in _INLINE.findall(doc.read_text())]
    assert inline, "the docs name no commands inline"
    for text in inline:
        for words in commands(text):
            check_command(words)


@pytest.mark.parametrize(
    "bad",
    [
        ".venv/bin/python -m chipotle_model serve --model m.joblib --no-such-option",
        ".venv/bin/python -m chipotle_model.no_such_module",
        "scripts/setup --everything",
        "scripts/no-such-script",
        "pulumi stack outputs url",
        "python -m chipotle_model serve",  # the system python: not what the set-up made
    ],
)
def test_the_checks_catch_a_wrong_command(bad):
    with pytest.raises(AssertionError):
        for words in commands(bad):
            check_command(words)


def test_the_ci_commands_are_what_ci_runs():
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    for block in blocks():
        if block.mode == "ci":
            for words in commands(block.text):
                assert shlex.join(words) in ci, f"{block}: .ci/run does not run {shlex.join(words)}"


# --- the blocks that run here ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory) -> Path:
    """The repository's files as a clone would have them, after the documented set-up."""
    require(real_csv().is_file(), f"the real store CSV is not at {real_csv()}")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        capture_output=True, text=True, check=True, cwd=REPO_ROOT,
    ).stdout.split("\0")  # fmt: skip
    copy = tmp_path_factory.mktemp("clone")
    for name in filter(None, listed):
        source = REPO_ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    (copy / ".venv").symlink_to((REPO_ROOT / ".venv").resolve())
    (copy / "data").mkdir(exist_ok=True)
    shutil.copyfile(real_csv(), copy / "data" / "chipotle_stores.csv")
    return copy


def run_block(block: Block, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    command = ["bash", "-euo", "pipefail", "-c", block.text]
    proc = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout)
    assert proc.returncode == 0, f"{block} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.parametrize("block", [b for b in blocks() if b.mode == "run"], ids=str)
def test_a_run_block_works_as_written(block, fresh_copy):
    run_block(block, fresh_copy)


def answers(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}health", timeout=2) as response:
                return response.status == 200
        except OSError:
            time.sleep(0.5)
    return False


@pytest.mark.parametrize("block", [b for b in blocks() if b.mode == "serve"], ids=str)
def test_the_local_run_works_as_written(block, fresh_copy):
    server = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", block.text],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=fresh_copy, start_new_session=True,
    )  # fmt: skip
    try:
        assert answers(SERVE_URL, timeout=240), f"{block}: nothing answers on {SERVE_URL}"
        for other in blocks():
            if other.mode == "with-server":
                proc = run_block(other, fresh_copy, timeout=60)
                assert '"error"' not in proc.stdout, f"{other}: {proc.stdout[-2000:]}"
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
