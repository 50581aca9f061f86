"""docs/RUNBOOK.md keeps its conventions and names only what this build has (no services needed).

The commands themselves are run by ``test_runbook.py``; here: the parser, the markers, and every
name the runbook uses (CLI commands, environment variables, metrics, tables, alert rules, deploy
files) checked against the code.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sniper_bot.cli import app as cli_app
from sniper_bot.config import all_variables, load_settings
from sniper_bot.observability.metrics import Metrics
from sniper_bot.storage.models import Base

from .runbook import (
    MARKERS,
    PLACEHOLDERS,
    RUNBOOK,
    Block,
    RunbookFormatError,
    blocks,
    commands_of,
    dotenv_assignments,
    load,
    parse_commands,
    section_span,
)

ROOT = RUNBOOK.parents[1]
HOST_ONLY = frozenset(
    {"sudo", "sudoedit", "systemctl", "journalctl", "docker", "docker-compose", "kubectl",
     "watch", "htop", "py-spy", "promtool", "ping"}
)  # fmt: skip
# A shell's environment that load_settings accepts, for checking the dotenv snippets.
VALID_ENV = {
    "SESSION_MASTER_SECRET": "9d3f6b1a7c2e4f80b5a6c9d1e3f7a2b4c6d8e0f1a3b5c7d9e2f4a6b8c0d1"
}


def _block(text: str) -> Block:
    return Block("bash", 1, tuple(text.splitlines()))


# --- the parser ------------------------------------------------------------------------------
def test_backslash_and_open_quotes_join_lines_into_one_command() -> None:
    found = commands_of(
        _block('curl -X POST "$URL" \\\n  -d \'{"a":1}\'\npsql -c "\nSELECT 1;\n"\necho done')
    )
    assert [c.text.splitlines()[0] for c in found] == [
        'curl -X POST "$URL" \\',
        'psql -c "',
        "echo done",
    ]
    assert [c.line for c in found] == [1, 3, 6]


def test_a_marker_covers_the_commands_up_to_the_next_blank_line() -> None:
    found = commands_of(_block("# deployment: restart\nsudo a\ndocker b\n\nfree -h"))
    assert [(c.text, c.marker) for c in found] == [
        ("sudo a", "deployment"), ("docker b", "deployment"), ("free -h", None)
    ]  # fmt: skip


def test_expectations_attach_to_the_command_right_above() -> None:
    (cmd,) = commands_of(_block("sniper-bot check-token X\n# Expected exit: 3\n# Expected: risk"))
    assert cmd.expected_exit == 3
    assert cmd.expected == ["risk"]


def test_an_expectation_away_from_its_command_is_an_error() -> None:
    with pytest.raises(RunbookFormatError, match="line 3"):
        commands_of(_block("echo hi\n\n# Expected: hi"))


def test_an_unclosed_quote_is_an_error() -> None:
    with pytest.raises(RunbookFormatError, match="never ends"):
        commands_of(_block('psql -c "SELECT 1;'))


def test_an_unclosed_fence_is_an_error() -> None:
    with pytest.raises(RunbookFormatError, match="never closed"):
        blocks("text\n```bash\necho hi\n")


@given(
    words=st.lists(st.from_regex(r"[a-z][a-z0-9_.-]{0,8}", fullmatch=True), min_size=1, max_size=5),
    marker=st.sampled_from([None, *sorted(MARKERS)]),
    continued=st.booleans(),
)
def test_any_simple_command_parses_back_with_its_marker(
    words: list[str], marker: str | None, continued: bool
) -> None:
    text = (" \\\n  " if continued else " ").join(words)
    lines = ([f"# {marker}: why"] if marker else []) + ["# a comment", text]
    (cmd,) = commands_of(_block("\n".join(lines)))
    assert cmd.text == text
    assert cmd.marker == marker
    assert cmd.line == len(lines)


# --- the runbook's own conventions -----------------------------------------------------------
def test_the_runbook_parses_and_most_commands_run_on_a_developer_machine() -> None:
    commands = parse_commands(load())
    runnable = [c for c in commands if c.runnable]
    assert len(runnable) >= 60
    assert len(commands) - len(runnable) >= 40  # the deployment commands are kept, marked


def test_host_only_commands_are_marked() -> None:
    unmarked = [
        (c.line, c.text)
        for c in parse_commands(load())
        if c.runnable and c.text.split()[0] in HOST_ONLY
    ]
    assert unmarked == []


def test_only_known_placeholders_are_used() -> None:
    used = set().union(*(c.placeholders for c in parse_commands(load())))
    assert used <= PLACEHOLDERS


def test_psql_and_redis_cli_use_the_substitutable_forms() -> None:
    for c in parse_commands(load()):
        if c.text.startswith("psql"):
            assert c.text.startswith("psql -U postgres -h db-host -d sniper_bot -c"), c.line
        for call in re.findall(r"redis-cli[^|]*", c.text):
            assert call.startswith('redis-cli -u "$REDIS_URL"'), (c.line, call)


def test_every_sniper_bot_subcommand_exists() -> None:
    known = {
        c.name or (c.callback.__name__ if c.callback else "") for c in cli_app.registered_commands
    }
    used = {
        m.group(1)
        for c in parse_commands(load())
        for m in re.finditer(r"\bsniper-bot ([a-z][a-z-]+)", c.text)
    }
    assert used, "the runbook names no sniper-bot command"
    assert used <= known


def test_every_environment_variable_named_exists() -> None:
    text = load()
    named = {
        m
        for tick in re.findall(r"`([^`\n]+)`", text)
        for m in re.findall(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b", tick)
    }
    named -= {"HALF_OPEN"}  # a breaker state, not a variable
    assert named <= set(all_variables())
    assert {"DATABASE_URL", "REDIS_URL", "SESSION_MASTER_SECRET", "JUPITER_API_URL"} <= named


def test_every_dotenv_snippet_is_accepted_by_the_settings() -> None:
    assignments = dotenv_assignments(load())
    assert len(assignments) >= 10
    for line, name, value in assignments:
        assert name in all_variables(), f"line {line}: {name} is not a setting"
        load_settings({**VALID_ENV, name: value})  # raises ConfigError naming the problem


def _exported_metric_names() -> set[str]:
    names: set[str] = set()
    for family in Metrics().registry.collect():
        names.add(family.name)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names |= {family.name + s for s in ("_bucket", "_sum", "_count")}
    return names


def test_every_metric_named_is_exported_by_the_bot() -> None:
    named = {
        m
        for tick in re.findall(r"`([^`\n]+)`", load())
        for m in re.findall(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b", tick)
        if re.search(r"_(total|seconds|state|up|bucket|sum|count)$", m)
    }
    named -= {"pg_up"}  # postgres_exporter's, as the runbook says
    assert {"circuit_breaker_state", "swap_failures_total", "redis_up"} <= named
    assert named <= _exported_metric_names()


def test_every_table_in_the_sql_exists() -> None:
    text = load()
    tables = set(re.findall(r'\\"([A-Z][A-Za-z]+)\\"', text))  # inside psql -c "..."
    tables |= set(re.findall(r'`"([A-Z][A-Za-z]+)"`', text))  # in the prose
    assert {"SniperOrder", "HoneypotCheck"} <= tables
    assert tables <= set(Base.metadata.tables)


def test_every_alert_named_is_in_the_deployed_rules() -> None:
    rules = (ROOT / "deploy" / "prometheus-alerts.yml").read_text()
    deployed = set(re.findall(r"alert:\s*(\w+)", rules))
    section = load().split("### Prometheus Alert Rules", 1)[1].split("###", 1)[0]
    named = set(re.findall(r"`([A-Z][A-Za-z]+)`", section))
    assert named == deployed


def test_every_linked_file_exists() -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", load()):
        if not target.startswith("http"):
            assert (RUNBOOK.parent / target).exists(), target
    for path in set(re.findall(r"\bdeploy/[\w.-]+", load())):
        assert (ROOT / path).exists(), path


def test_sections_of_the_original_runbook_are_kept() -> None:
    headings = set(re.findall(r"^#{2,4} (.+)$", load(), flags=re.MULTILINE))
    for heading in (
        "Emergency Contacts", "RPC Connection Failures", "Database Connection Loss",
        "Redis Failures", "Circuit Breaker Open State", "High Memory Usage",
        "Transaction Failures", "Troubleshooting Guide", "Circuit Breaker Recovery",
        "Performance Tuning Guide", "Alerting and Escalation", "Incident Response Procedures",
        "Maintenance Procedures", "Symptoms", "Root Causes", "Diagnosis Commands",
        "Recovery Steps", "Prevention",
    ):  # fmt: skip
        assert heading in headings, heading


def test_a_section_ends_at_the_next_heading_not_at_a_bash_comment() -> None:
    text = "## A\n```bash\n# not a heading\necho\n```\n### A.1\ntext\n## B\n"
    assert section_span(text, "A") == (1, 8)
    assert section_span(text, "A.1") == (6, 8)
    with pytest.raises(RunbookFormatError):
        section_span(text, "missing")


def test_every_dotenv_snippet_also_sources_in_a_shell(tmp_path: Path) -> None:
    """The runbook loads the env file with `set -a; . /etc/sniper-bot/env`: an unquoted `&` would
    background half of a line there."""
    assignments = dotenv_assignments(load())
    for line, name, value in assignments:
        snippet = tmp_path / f"env{line}"
        raw = next(text.strip() for n, text in enumerate(load().splitlines(), start=1) if n == line)
        snippet.write_text(raw + "\n")
        shown = subprocess.run(
            ["bash", "-c", f'set -a; . "{snippet}"; printf %s "${name}"'],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        assert shown.stdout == value, f"line {line}: the shell reads {shown.stdout!r}"
