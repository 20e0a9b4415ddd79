#!/usr/bin/env python3
"""Benchmark report: turns the JSON of broker_bench.py (and, when given, client_bench.py) into
Benchmarks/results/<date>.md with SVG charts beside it, so a newcomer sees at a glance how Fjord compares.

Charts (plain SVG written here, no plotting library):
  <date>-throughput.svg   msgs/s per case, one bar per broker
  <date>-cpu.svg          broker CPU ms per MB per case, one bar per broker (lower is better)
  <date>-latency.svg      end-to-end latency p50 / p99 / p99.9 per broker
  <date>-client.svg       client msgs per client-CPU-second, FjordClient vs librdkafka (client bench only)

Usage:
  .venv/bin/python Benchmarks/report.py --broker /tmp/bench.json [--client /tmp/client.json] [--out Benchmarks/results]
"""

from __future__ import annotations

import argparse
import json
import time
from html import escape
from pathlib import Path

COLORS = {"fjord": "#1f77b4", "tansu": "#ff7f0e", "fjordclient": "#2ca02c", "librdkafka": "#d62728"}
FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def color(name: str, index: int) -> str:
    return COLORS.get(name.lower(), FALLBACK[index % len(FALLBACK)])


def nice_max(value: float) -> float:
    """The smallest 1/2/5 x 10^k at or above value (axis top)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 1.0
    while magnitude > value:
        magnitude /= 10
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def human(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.1f}M"
    if value >= 1e3:
        return f"{value / 1e3:.0f}k"
    if value >= 10:
        return f"{value:.0f}"
    return f"{value:.2g}"


def bar_chart(title: str, unit: str, groups: list[str], series: dict[str, list[float | None]]) -> str:
    """A grouped bar chart: one group per x label, one bar per series (None: no bar, marked n/a)."""
    names = list(series)
    width = max(480, 90 + len(groups) * (28 * len(names) + 30))
    height, top, bottom, left = 340, 50, 110, 70
    plot_h = height - top - bottom
    peak = max([v for values in series.values() for v in values if v is not None] or [1.0])
    axis_max = nice_max(peak)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i in range(5):
        value = axis_max * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{human(value)}</text>')
    out.append(f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
               f'text-anchor="middle">{escape(unit)}</text>')
    group_w = (width - left - 10) / max(len(groups), 1)
    bar_w = min(28.0, (group_w - 20) / max(len(names), 1))
    for g, label in enumerate(groups):
        x0 = left + g * group_w + (group_w - bar_w * len(names)) / 2
        for s, name in enumerate(names):
            value = series[name][g]
            x = x0 + s * bar_w
            if value is None:
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4}" text-anchor="middle" '
                           f'font-size="9" fill="#999">n/a</text>')
                continue
            h = plot_h * value / axis_max
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                       f'fill="{color(name, s)}"><title>{escape(name)} {escape(label)}: {value:.4g} {escape(unit)}</title></rect>')
            out.append(f'<text x="{x + bar_w / 2 - 1:.1f}" y="{top + plot_h - h - 3:.1f}" text-anchor="middle" '
                       f'font-size="9">{human(value)}</text>')
        cx = left + g * group_w + group_w / 2
        out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="end" font-size="10" '
                   f'transform="rotate(-30 {cx:.1f} {top + plot_h + 14})">{escape(label)}</text>')
    for s, name in enumerate(names):
        x = left + s * 120
        out.append(f'<rect x="{x}" y="{height - 18}" width="12" height="12" fill="{color(name, s)}"/>')
        out.append(f'<text x="{x + 16}" y="{height - 8}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def broker_charts(doc: dict) -> dict[str, str]:
    rows = [r for r in doc["rows"] if r.get("status") == "ok"]
    brokers = sorted({r["broker"] for r in rows}, key=lambda b: (b != "fjord", b))
    cases = [c for c in dict.fromkeys(r["case"] for r in rows) if not c.startswith("latency")]

    def value(broker: str, case: str, key: str) -> float | None:
        row = next((r for r in rows if r["broker"] == broker and r["case"] == case), None)
        return row.get(key) if row else None

    charts = {
        "throughput": bar_chart("Throughput per case (higher is better)", "messages/s", cases,
                                {b: [value(b, c, "msgs_per_s") for c in cases] for b in brokers}),
        "cpu": bar_chart("Broker CPU per MB (lower is better)", "CPU ms per MB", cases,
                         {b: [value(b, c, "cpu_ms_per_mb") for c in cases] for b in brokers}),
    }
    latency = {r["broker"]: r["latency"] for r in rows if r["case"].startswith("latency") and r.get("latency")}
    if latency:
        labels = ["p50", "p99", "p99.9"]
        keys = ["p50_ms", "p99_ms", "p999_ms"]
        charts["latency"] = bar_chart("End-to-end latency (lower is better)", "ms", labels,
                                      {b: [latency.get(b, {}).get(k) for k in keys] for b in brokers})
    return charts


def client_chart(doc: dict) -> str:
    rows = [r for r in doc["rows"] if r.get("status", "ok") == "ok"]
    clients = sorted({r["client"] for r in rows}, key=lambda c: (c != "fjordclient", c))
    cases = list(dict.fromkeys(r["case"] for r in rows))

    def value(client: str, case: str) -> float | None:
        row = next((r for r in rows if r["client"] == client and r["case"] == case), None)
        return row.get("msgs_per_client_cpu_s") if row else None

    return bar_chart("Client efficiency (higher is better)", "messages per client CPU second", cases,
                     {c: [value(c, case) for case in cases] for c in clients})


def table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    head = "| " + " | ".join(title for title, _, _ in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = []
    for r in rows:
        cells = []
        for _, key, spec in columns:
            v = r
            for part in key.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            cells.append("—" if v is None else (format(v, spec) if spec else str(v)))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *body])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--broker", required=True, help="JSON written by broker_bench.py --json")
    ap.add_argument("--client", help="JSON written by client_bench.py --json")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    ap.add_argument("--date", default=time.strftime("%Y-%m-%d"))
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    broker_doc = json.loads(Path(args.broker).read_text())
    charts = broker_charts(broker_doc)
    client_doc = json.loads(Path(args.client).read_text()) if args.client else None
    if client_doc:
        charts["client"] = client_chart(client_doc)
    for name, svg in charts.items():
        (out / f"{args.date}-{name}.svg").write_text(svg)
    machine = broker_doc.get("machine", {})
    lines = [f"# Benchmark results {args.date}", "",
             f"Run started {broker_doc.get('started', '?')} on {machine.get('cpus', '?')} CPUs "
             f"({machine.get('cpu_model', machine.get('processor', '?'))}); command: `make bench`. "
             "Numbers compare brokers within this run only.", ""]
    for name in charts:
        lines += [f"![{name}]({args.date}-{name}.svg)", ""]
    lines += ["## Broker cases", "", table(broker_doc["rows"], [
        ("broker", "broker", ""), ("case", "case", ""), ("status", "status", ""), ("msgs/s", "msgs_per_s", ",.0f"),
        ("MB/s", "mb_per_s", ".1f"), ("CPU ms/MB", "cpu_ms_per_mb", ".1f"), ("CPU µs/msg", "cpu_us_per_msg", ".2f"),
        ("peak RSS MiB", "case_peak_rss_mib", ".1f"), ("p50 ms", "latency.p50_ms", ".2f"),
        ("p99 ms", "latency.p99_ms", ".2f"), ("p99.9 ms", "latency.p999_ms", ".2f")]), ""]
    if client_doc:
        lines += ["## Client cases", "", table(client_doc["rows"], [
            ("client", "client", ""), ("case", "case", ""), ("msgs/s", "msgs_per_s", ",.0f"),
            ("client CPU s", "client_cpu_s", ".2f"), ("msgs per client CPU s", "msgs_per_client_cpu_s", ",.0f"),
            ("CPU µs/msg", "cpu_us_per_msg", ".2f")]), ""]
    report = out / f"{args.date}.md"
    report.write_text("\n".join(lines))
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
