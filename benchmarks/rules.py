"""Rule evaluation throughput: `analyze` with the full pack against grep and a plain-Python loop.

    python benchmarks/rules.py --lines 5000000 [--loop-lines 100000] [--json]

1. generate a realistic raw dmesg of `--lines` lines (benchmarks/ingest.py's generator: mostly
   benign kernel chatter, ~1% NVIDIA/AER/mlx5/EDAC lines) and ingest it (not timed);
2. time `analyze` over the store: events streamed out of DuckDB, one Aho-Corasick prefilter
   pass, every rule's regex on its candidates, thresholds, findings written back; and, apart,
   the prefilter alone (the rate analysis approaches when few lines are hits);
3. time `grep -c -F -f KEYWORDS` over the same text, KEYWORDS being every rule keyword;
4. time a plain-Python loop that tries every rule's regex (Python `re`) on every line, on the
   first `--loop-lines` lines (it is far too slow for millions), and report its rate.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from ingest import generate

from triage.ingest import ingest
from triage.signatures import identity
from triage.signatures.analyze import analyze, candidate_events
from triage.signatures.loader import load_rules
from triage.store import Store

BYTES_PER_LINE = 85  # what the generator writes on average


def python_loop(path: Path, patterns: list[re.Pattern[str]], limit: int) -> tuple[int, float, int]:
    """Try every pattern on each of the first `limit` lines; (lines, seconds, hits)."""
    prefix = re.compile(r"^\[\s*\d+\.\d+\] ?")
    hits = lines = 0
    started = time.perf_counter()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            message = prefix.sub("", line.rstrip("\n"), count=1)
            for pattern in patterns:
                if pattern.search(message):
                    hits += 1
            lines += 1
            if lines >= limit:
                break
    return lines, time.perf_counter() - started, hits


def python_pattern(regex: str) -> re.Pattern[str]:
    """The rule's regex for Python `re` (named groups are spelled the same; `(?<name>` is not)."""
    return re.compile(re.sub(r"\(\?<([A-Za-z_])", r"(?P<\1", regex))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=5_000_000, help="events to evaluate (default 5,000,000)")
    parser.add_argument("--loop-lines", type=int, default=100_000, help="lines for the Python loop (default 100,000)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()

    pack = load_rules()
    with tempfile.TemporaryDirectory(prefix="triage-rules-bench-") as tmp:
        work = Path(tmp)
        log = work / "node001" / "dmesg.log"
        log.parent.mkdir()
        generated = generate(log, args.lines * BYTES_PER_LINE / 1e6, "dmesg")
        keywords = work / "keywords.txt"
        keywords.write_text("\n".join(pack.keywords) + "\n")
        with Store.open(work / "bench.duckdb") as store:
            ingest(store, [str(log.parent)])
            events = store.count("events")
            started = time.perf_counter()
            candidate_events(store, pack.keywords + identity.KEYWORDS)
            prefilter_s = time.perf_counter() - started
            started = time.perf_counter()
            summary = analyze(store, pack)
            analyze_s = time.perf_counter() - started

        started = time.perf_counter()
        grep = subprocess.run(["grep", "-c", "-F", "-f", str(keywords), str(log)], capture_output=True, text=True)
        grep_s = time.perf_counter() - started

        patterns = [python_pattern(rule.regex) for rule in pack.rules]
        loop_lines, loop_s, loop_hits = python_loop(log, patterns, args.loop_lines)

    result = {
        "command": "python benchmarks/rules.py " + " ".join(sys.argv[1:]),
        "rules": len(pack.rules),
        "keywords": len(pack.keywords),
        "events": events,
        "generated_lines": generated.lines,
        "analyze_seconds": round(analyze_s, 3),
        "analyze_lines_per_s": round(events / analyze_s),
        "prefilter_seconds": round(prefilter_s, 3),
        "prefilter_lines_per_s": round(events / prefilter_s),
        "candidates": summary.candidates,
        "hits": summary.hits,
        "findings": summary.findings,
        "grep_seconds": round(grep_s, 3),
        "grep_lines_per_s": round(generated.lines / grep_s),
        "grep_matching_lines": int(grep.stdout.strip() or 0),
        "python_loop_lines": loop_lines,
        "python_loop_seconds": round(loop_s, 3),
        "python_loop_lines_per_s": round(loop_lines / loop_s),
        "python_loop_hits": loop_hits,
        "speedup_vs_python_loop": round((events / analyze_s) / (loop_lines / loop_s), 1),
        "grep_vs_analyze": round((generated.lines / grep_s) / (events / analyze_s), 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['rules']} rules, {result['keywords']} keywords, {events:,} events")
    print(
        f"analyze       {analyze_s:8.2f} s  {result['analyze_lines_per_s']:>12,} lines/s  "
        f"({summary.candidates:,} candidates, {summary.hits:,} hits, {summary.findings} findings)"
    )
    print(
        f"grep -c -F -f {grep_s:8.2f} s  {result['grep_lines_per_s']:>12,} lines/s  "
        f"({result['grep_matching_lines']:,} matching lines)"
    )
    print(
        f"python loop   {loop_s:8.2f} s  {result['python_loop_lines_per_s']:>12,} lines/s  "
        f"(every rule's regex on each of {loop_lines:,} lines, {loop_hits:,} hits)"
    )
    print(f"prefilter alone (stream + Aho-Corasick) {prefilter_s:.2f} s = {result['prefilter_lines_per_s']:,} lines/s")
    print(f"analyze vs python loop: {result['speedup_vs_python_loop']}x; grep vs analyze: {result['grep_vs_analyze']}x")


if __name__ == "__main__":
    main()
