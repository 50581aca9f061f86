"""Show a report: a rich table for the terminal, JSON for machines, and the ``check-token`` run.

``sniper-bot check-token <mint> [--json]`` is wired in ``cli.py`` to ``run_check_token``: it
prints the report and returns the exit code (0 below the threshold, 3 at or above it).
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from sniper_bot.domain.risk import DEFAULT_RISK_BLOCK_THRESHOLD, RiskReport, Severity
from sniper_bot.safety.service import RiskService

__all__ = ["EXIT_BLOCKED", "EXIT_OK", "render_report_table", "report_to_json", "run_check_token"]

EXIT_OK = 0
EXIT_BLOCKED = 3
_STYLE = {
    Severity.CRITICAL: "bold red",
    Severity.HIGH: "red",
    Severity.MEDIUM: "yellow",
    Severity.LOW: "cyan",
    Severity.INFO: "dim",
}


def report_to_json(report: RiskReport, threshold: int = DEFAULT_RISK_BLOCK_THRESHOLD) -> str:
    data: dict[str, Any] = report.to_json()
    data["threshold"] = threshold
    data["blocked"] = report.blocks(threshold)
    data["overridable"] = report.overridable
    return json.dumps(data, indent=2, sort_keys=False)


def render_report_table(report: RiskReport, threshold: int = DEFAULT_RISK_BLOCK_THRESHOLD) -> Table:
    verdict = "BLOCKED" if report.blocks(threshold) else "ok"
    honeypot = " - HONEYPOT" if report.is_honeypot else ""
    table = Table(
        title=f"{report.mint}: risk {report.score}/100 "
        f"({verdict}{honeypot}, threshold {threshold})",
        caption=f"checked {report.checked_at.isoformat()} at slot {report.inputs_slot}",
    )
    table.add_column("severity")
    table.add_column("weight", justify="right")
    table.add_column("finding")
    table.add_column("evidence")
    for f in report.findings:
        evidence = ", ".join(f"{k}={v}" for k, v in f.evidence.items() if v is not None)
        table.add_row(f.severity.value, str(f.weight), f.title, evidence, style=_STYLE[f.severity])
    return table


async def run_check_token(
    service: RiskService, mint: str, *, as_json: bool, console: Console | None = None
) -> int:
    """Check ``mint``, print the report, return the process exit code."""
    report = await service.check(mint, force=True)
    out = console or Console()
    if as_json:
        out.print_json(report_to_json(report, service.threshold))
    else:
        out.print(render_report_table(report, service.threshold))
    return EXIT_BLOCKED if report.blocks(service.threshold) else EXIT_OK
