"""Read the children's JSON lines, classify the tests, print the table, check the floors.

Three categories of test, reported apart:

* ``core`` -- CPython's own test classes, minus networking: the loop engine, futures and tasks
  (asyncio's Py/C classes run on our loop wherever they create one), the API.
* ``net`` -- networking, subprocess, signal and pipe tests, recognised by name: they need
  batonio's I/O layer (later issues) and are counted, never excluded.
* ``gen`` -- the classes the harness derives with batonio's own Future/Task/registries; their
  stock baseline is the Py class they were derived from.

The acceptance figure of issue 3 is the ``core`` one: of the core tests that pass on stock
asyncio, the share that passes on batonio.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ModuleResult", "parse", "merge", "table", "failure_groups", "category"]

# Modules that test the I/O layer as a whole.
_NET_MODULES = {"test_sock_lowlevel", "test_server", "test_streams", "test_subprocess",
                "test_ssl", "test_sslproto", "test_sendfile", "test_unix_events",
                "test_selector_events", "test_buffered_proto", "test_proactor_events"}
# Modules that mix loop-engine tests with I/O tests: told apart by name.
_MIXED_MODULES = {"test_events", "test_base_events"}
_NET = re.compile(
    r"sock|server|connect|ssl|unix|pipe|pty|subprocess|datagram|sendfile|getaddrinfo|"
    r"getnameinfo|ipaddr|inet_pton|accept|nodelay|bluetooth|(^|_)port(_|$)|signal|"
    r"child_watcher|fork|new_process")
# Named without a hint of I/O, but built on it.
_NET_TESTS = {"test_prompt_cancellation"}   # cancels a pending loop.sock_recv()


def category(test_id: str, generated: dict[str, str]) -> str:
    """``gen``, ``net`` or ``core`` for ``module.Class.test``."""
    cls = test_id.rsplit(".", 1)[0]
    if cls in generated:
        return "gen"
    module, _, name = test_id.partition(".")
    if module in _NET_MODULES:
        return "net"
    if module in _MIXED_MODULES and (_NET.search(name.lower())
                                     or name.rsplit(".", 1)[-1] in _NET_TESTS):
        return "net"
    return "core"


@dataclass
class ModuleResult:
    """Everything one child reported about one module."""

    module: str
    target: str
    status: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> result record
    planned: list[str] = field(default_factory=list)
    excluded: dict[str, str] = field(default_factory=dict)
    generated: dict[str, str] = field(default_factory=dict)          # class -> source class
    plan: dict[str, Any] = field(default_factory=dict)
    loops: int = 0
    problem: str = ""       # crash, timeout, hang: why some tests have no result
    secs: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.status.values() if r["status"] == status)

    def baseline_id(self, test_id: str) -> str:
        """The stock test whose result is the baseline of ``test_id``."""
        cls, _, meth = test_id.rpartition(".")
        return f"{self.generated.get(cls, cls)}.{meth}"


def parse(module: str, target: str, path: str, rc: int | None, log_tail: str,
          secs: float) -> ModuleResult:
    """Build a :class:`ModuleResult` from a child's JSON lines, filling in what is missing."""
    res = ModuleResult(module, target, secs=secs)
    fixtures: list[str] = []
    hung = started = None
    done = False
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue                     # a line cut short by a kill
        kind = rec["kind"]
        if kind == "plan":
            res.plan = rec
            res.planned = rec["tests"]
            res.excluded = rec["excluded"]
            res.generated = rec["generated"]
        elif kind == "start":
            started = rec["id"]
        elif kind == "result":
            res.status[rec["id"]] = rec
            res.loops = rec.get("loops", res.loops)
        elif kind == "fixture":
            fixtures.append(f"{rec['id']}: {rec['msg']}")
        elif kind == "hung":
            hung = rec["id"]
        elif kind == "done":
            res.loops = rec["loops"]
            done = True
    if not done:
        if rc is None:
            res.problem = f"module timed out (in {started})"
        elif hung:
            res.problem = f"hung in {hung}"
        else:
            res.problem = f"child exited rc={rc}: {log_tail.strip().splitlines()[-1:] or ''}"
    if not res.planned and not done:
        res.problem = res.problem or "no test plan"
        return res
    why = res.problem or ("; ".join(fixtures)[:300] if fixtures else "no result recorded")
    for tid in res.planned:
        if tid not in res.status:
            res.status[tid] = {"id": tid, "status": "error", "msg": f"not run: {why}",
                               "where": ""}
    return res


def merge(parts: list[ModuleResult]) -> ModuleResult:
    """One module's result from the results of its shards."""
    if len(parts) == 1:
        return parts[0]
    res = ModuleResult(parts[0].module, parts[0].target)
    for part in parts:
        res.status.update(part.status)
        res.planned += part.planned
        res.excluded.update(part.excluded)
        res.generated.update(part.generated)
        res.plan = res.plan or part.plan
        res.loops += part.loops
        res.secs = max(res.secs, part.secs)
        if part.problem:
            res.problem = f"{res.problem}; {part.problem}" if res.problem else part.problem
    return res


def _ratio(b: int, s: int) -> str:
    return f"{b}/{s}" if s else "-"


def table(results: list[ModuleResult], stock: dict[str, dict[str, str]] | None) -> str:
    """The per-module markdown table and the acceptance lines."""
    head = ["module", "run", "pass", "fail", "err", "skip", "excl", "loops", "stock pass",
            "core b/s", "net b/s", "gen b/s", "secs"]
    rows = [head]
    tot: Counter[str] = Counter()
    for res in results:
        base = (stock or {}).get(res.module)
        cats: Counter[str] = Counter()
        for tid, rec in res.status.items():
            cat = category(tid, res.generated)
            if base is None:
                cats[cat + "_s"] += 1
                cats[cat + "_b"] += rec["status"] == "pass"
            elif base.get(res.baseline_id(tid)) == "pass":
                cats[cat + "_s"] += 1
                cats[cat + "_b"] += rec["status"] == "pass"
        counts = Counter({
            "run": len(res.status), "pass": res.count("pass"), "fail": res.count("fail"),
            "err": res.count("error"), "skip": res.count("skip"), "excl": len(res.excluded),
            "loops": res.loops})
        stock_pass = sum(1 for s in base.values() if s == "pass") if base is not None else None
        tot.update(counts)
        tot.update(cats)
        if stock_pass is not None:
            tot["stock"] += stock_pass
        name = res.module + (" (!)" if res.problem else "")
        rows.append([name] + [str(counts[k]) for k in ("run", "pass", "fail", "err", "skip",
                                                      "excl", "loops")]
                    + ["-" if stock_pass is None else str(stock_pass)]
                    + [_ratio(cats[c + "_b"], cats[c + "_s"]) for c in ("core", "net", "gen")]
                    + [f"{res.secs:.0f}"])
    rows.append(["**total**"] + [str(tot[k]) for k in ("run", "pass", "fail", "err", "skip",
                                                      "excl", "loops")]
                + [str(tot["stock"]) if stock else "-"]
                + [_ratio(tot[c + "_b"], tot[c + "_s"]) for c in ("core", "net", "gen")]
                + [f"{sum(r.secs for r in results):.0f}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = []
    for i, row in enumerate(rows):
        cells = [c.ljust(w) if j == 0 else c.rjust(w)
                 for j, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    legend = ("b/s = passed on the target / of the tests that pass on stock asyncio"
              if stock else "b/s = passed / run (no stock baseline: run with --stock)")
    lines.append("")
    lines.append(f"{legend}; core = minus networking/subprocess/signals (net); gen = classes "
                 "derived with the target's Future/Task.")
    total_excl = tot["excl"]
    total_all = tot["run"] + total_excl
    if total_all:
        lines.append(f"excluded: {total_excl} of {total_all} tests "
                     f"({100 * total_excl / total_all:.1f}%, limit 3%)")
    if stock and tot["core_s"]:
        share = 100 * tot["core_b"] / tot["core_s"]
        lines.append(f"core conformance: {tot['core_b']}/{tot['core_s']} = {share:.1f}% of the "
                     f"tests passing on stock pass on the target (issue 3 needs >= 95%); "
                     f"with gen: {tot['core_b'] + tot['gen_b']}/{tot['core_s'] + tot['gen_s']}")
    for res in results:
        if res.problem:
            lines.append(f"(!) {res.module}: {res.problem}")
    return "\n".join(lines)


_NORMALIZE = [(re.compile(r"0x[0-9a-fA-F]+"), "0x…"), (re.compile(r"\d{3,}"), "N"),
              (re.compile(r"'[^']{40,}'"), "'…'")]


def failure_groups(results: list[ModuleResult], stock: dict[str, dict[str, str]] | None,
                   limit: int) -> str:
    """The biggest groups of failures by message (only tests that pass on stock, if known)."""
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for res in results:
        base = (stock or {}).get(res.module)
        for tid, rec in res.status.items():
            if rec["status"] not in ("fail", "error"):
                continue
            if base is not None and base.get(res.baseline_id(tid)) != "pass":
                continue
            msg = rec.get("msg", "?")
            if ":" not in msg and rec.get("where"):   # a bare exception: say where it came from
                msg += " in " + rec["where"].rsplit(" in ", 1)[-1] + "()"
            for pattern, repl in _NORMALIZE:
                msg = pattern.sub(repl, msg)
            groups[msg[:160]].append((tid, rec))
    if not groups:
        return "no failures"
    ordered = sorted(groups.items(), key=lambda kv: -len(kv[1]))
    lines = [f"biggest failure groups ({len(groups)} distinct messages, "
             f"{sum(len(v) for v in groups.values())} tests):"]
    for msg, items in ordered[:limit]:
        first = items[0][1]
        where = "; ".join(w for w in (first.get("where"), first.get("batonio")) if w)
        tests = sorted({t.split(".", 1)[1] for t, _ in items})
        lines.append(f"- {len(items):4d} x {msg}")
        if where:
            lines.append(f"         at {where}")
        lines.append(f"         e.g. {', '.join(tests[:4])}"
                     + (f" (+{len(tests) - 4})" if len(tests) > 4 else ""))
    return "\n".join(lines)
