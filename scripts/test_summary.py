"""The last lines of `make test`: totals over every pytest run and the product's coverage.

    python scripts/test_summary.py WORKDIR

WORKDIR holds what scripts/test.sh wrote: `junit-*.xml` reports and `.coverage.*` data files, one per
run. Prints `total: N passed, N failed, N skipped`, the modules under 80 % of lines and the combined
line and branch coverage of both backends and both phases. Never fails the run: a missing report only
leaves its line out.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

# docs/testing.md names every product module under this share of lines, with why.
LINE_FLOOR = 80.0


def totals(workdir: Path) -> str | None:
    tests = failed = skipped = 0
    for path in sorted(workdir.glob("junit-*.xml")):
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError):
            continue
        for suite in root.iter("testsuite"):
            tests += int(suite.get("tests", 0))
            failed += int(suite.get("failures", 0)) + int(suite.get("errors", 0))
            skipped += int(suite.get("skipped", 0))
    if not (tests or failed):
        return None
    return f"total: {tests - failed - skipped} passed, {failed} failed, {skipped} skipped"


def coverage_lines(workdir: Path) -> list[str]:
    try:
        from coverage import Coverage
        from coverage.exceptions import CoverageException
    except ImportError:
        return ["coverage: not measured (the coverage package is missing)"]
    parts = [str(p) for p in sorted(workdir.glob(".coverage.*"))]
    if not parts:
        return ["coverage: no data"]
    cov = Coverage(data_file=str(workdir / ".coverage"))
    report_file = workdir / "coverage.json"
    try:
        cov.combine(parts, keep=True, strict=True)
        cov.save()
        cov.load()
        cov.json_report(outfile=str(report_file))
    except CoverageException as exc:
        return [f"coverage: not combined ({exc})"]
    report = json.loads(report_file.read_text())
    low = sorted(
        (_line_share(data["summary"]), name)
        for name, data in report["files"].items()
        if _line_share(data["summary"]) < LINE_FLOOR
    )
    t = report["totals"]
    lines, branches = _line_share(t), 100 * t["covered_branches"] / max(t["num_branches"], 1)
    out = [f"  under {LINE_FLOOR:.0f} % of lines: {name} ({share:.0f} %)" for share, name in sorted(low)]
    out.append(
        f"coverage of the product: {lines:.1f} % of lines, {branches:.1f} % of branches (every run combined)"
    )
    return out


def _line_share(summary: dict[str, int]) -> float:
    return 100 * summary["covered_lines"] / summary["num_statements"] if summary["num_statements"] else 100.0


def main(workdir: Path) -> None:
    for line in coverage_lines(workdir):
        print(line)
    total = totals(workdir)
    if total:
        print(total)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
