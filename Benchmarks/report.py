#!/usr/bin/env python3
"""Benchmark report: turns the JSON of broker_bench.py (and, when given, client_bench.py) into
Benchmarks/results/<date>.md with SVG charts beside it, so a newcomer sees at a glance how Fjord compares.

Every figure is the median over the repetitions of a case; the tables give the min-max spread beside it and the
charts draw it as an error bar (min to max). The JSON files keep every repetition.

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
import statistics
import time
from html import escape
from pathlib import Path

COLORS = {"fjord": "#1f77b4", "fjord-baseline": "#9ecae1", "tansu": "#ff7f0e", "fjordclient": "#2ca02c",
          "librdkafka-kcat": "#d62728", "librdkafka": "#d62728", "librdkafka-python": "#ff9896"}
FALLBACK = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]

BROKER_KEYS = ["msgs_per_s", "mb_per_s", "cpu_ms_per_mb", "cpu_us_per_msg", "broker_cpu_s", "idle_rss_mib",
               "case_peak_rss_mib", "vmhwm_mib", "p50_ms", "p99_ms", "p999_ms", "max_ms"]
CLIENT_KEYS = ["msgs_per_s", "mb_per_s", "client_cpu_s", "msgs_per_client_cpu_s", "cpu_us_per_msg"]


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


# --------------------------------------------------------------------------- statistics

def summarize(rows: list[dict], who: str, keys: list[str]) -> dict[tuple[str, str], dict]:
    """(who, case) -> {"runs", "ok", "errors", key: {"median", "min", "max", "n"}} over the rows whose status is ok.
    Works for JSON without repetitions too (one run each). Latency figures are read from row["latency"]."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r[who], r["case"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r.get("status", "ok") == "ok"]
        entry: dict = {"runs": len(rs), "ok": len(ok),
                       "errors": [f"#{r.get('repetition', 0) + 1}: {r.get('error')}" for r in rs
                                  if r.get("status", "ok") != "ok"]}
        for k in keys:
            values = [v for r in ok if (v := r.get(k, (r.get("latency") or {}).get(k))) is not None]
            if values:
                entry[k] = {"median": statistics.median(values), "min": min(values), "max": max(values),
                            "n": len(values)}
        out[key] = entry
    return out


def fmt_spread(stat: dict | None, spec: str) -> str:
    """median (min–max); just the value when there is one run or no spread at this precision."""
    if not stat:
        return "—"
    med, lo, hi = (format(stat[k], spec) for k in ("median", "min", "max"))
    return med if stat["n"] == 1 or lo == hi else f"{med} ({lo}–{hi})"


# --------------------------------------------------------------------------- charts

def bar_chart(title: str, unit: str, groups: list[str], series: dict[str, list[dict | None]]) -> str:
    """A grouped bar chart: one group per x label, one bar per series at the median, an error bar from min to max
    (None: no bar, marked n/a)."""
    names = list(series)
    width = max(480, 90 + len(groups) * (24 * len(names) + 30))
    height, top, bottom, left = 360, 50, 120, 70
    plot_h = height - top - bottom
    peak = max([v["max"] for values in series.values() for v in values if v is not None] or [1.0])
    axis_max = nice_max(peak)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>',
           f'<text x="{width / 2}" y="38" text-anchor="middle" font-size="10" fill="#555">bar: median; '
           f'error bar: min–max over the runs</text>']
    for i in range(5):
        value = axis_max * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{human(value)}</text>')
    out.append(f'<text x="14" y="{top + plot_h / 2}" transform="rotate(-90 14 {top + plot_h / 2})" '
               f'text-anchor="middle">{escape(unit)}</text>')
    group_w = (width - left - 10) / max(len(groups), 1)
    bar_w = min(24.0, (group_w - 20) / max(len(names), 1))
    for g, label in enumerate(groups):
        x0 = left + g * group_w + (group_w - bar_w * len(names)) / 2
        for s, name in enumerate(names):
            stat = series[name][g]
            x = x0 + s * bar_w
            if stat is None:
                out.append(f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h - 4}" text-anchor="middle" '
                           f'font-size="9" fill="#999">n/a</text>')
                continue
            value = stat["median"]
            h = plot_h * value / axis_max
            spread = f" (min {stat['min']:.4g}, max {stat['max']:.4g}, {stat['n']} runs)"
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" '
                       f'fill="{color(name, s)}"><title>{escape(name)} {escape(label)}: median {value:.4g} '
                       f'{escape(unit)}{spread}</title></rect>')
            cx = x + bar_w / 2 - 1
            y_lo = top + plot_h - plot_h * stat["min"] / axis_max
            y_hi = top + plot_h - plot_h * stat["max"] / axis_max
            if stat["n"] > 1:
                out.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_lo:.1f}" y2="{y_hi:.1f}" stroke="#222"/>')
                for y in (y_lo, y_hi):
                    out.append(f'<line x1="{cx - 3:.1f}" x2="{cx + 3:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#222"/>')
            out.append(f'<text x="{cx:.1f}" y="{min(y_hi, top + plot_h - h) - 3:.1f}" text-anchor="middle" '
                       f'font-size="9">{human(value)}</text>')
        cx = left + g * group_w + group_w / 2
        out.append(f'<text x="{cx:.1f}" y="{top + plot_h + 14}" text-anchor="end" font-size="10" '
                   f'transform="rotate(-30 {cx:.1f} {top + plot_h + 14})">{escape(label)}</text>')
    for s, name in enumerate(names):
        x = left + s * 140
        out.append(f'<rect x="{x}" y="{height - 18}" width="12" height="12" fill="{color(name, s)}"/>')
        out.append(f'<text x="{x + 16}" y="{height - 8}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def ordered(names, first: str) -> list[str]:
    return sorted(set(names), key=lambda n: (n != first, n.endswith("baseline"), n))


def broker_charts(summary: dict, brokers: list[str]) -> dict[str, str]:
    cases = [c for c in dict.fromkeys(case for _, case in summary) if not c.startswith("latency")]

    def stat(broker: str, case: str, key: str) -> dict | None:
        return summary.get((broker, case), {}).get(key)

    charts = {
        "throughput": bar_chart("Throughput per case (higher is better)", "messages/s", cases,
                                {b: [stat(b, c, "msgs_per_s") for c in cases] for b in brokers}),
        "cpu": bar_chart("Broker CPU per MB (lower is better)", "CPU ms per MB", cases,
                         {b: [stat(b, c, "cpu_ms_per_mb") for c in cases] for b in brokers}),
    }
    latency_cases = [c for c in dict.fromkeys(case for _, case in summary) if c.startswith("latency")]
    if latency_cases:
        case = latency_cases[0]
        labels = ["p50", "p99", "p99.9"]
        keys = ["p50_ms", "p99_ms", "p999_ms"]
        charts["latency"] = bar_chart(f"End-to-end latency, {case} (lower is better)", "ms", labels,
                                      {b: [stat(b, case, k) for k in keys] for b in brokers})
    return charts


def client_chart(summary: dict, clients: list[str]) -> str:
    cases = list(dict.fromkeys(case for _, case in summary))
    return bar_chart("Client efficiency (higher is better)", "messages per client CPU second", cases,
                     {c: [summary.get((c, case), {}).get("msgs_per_client_cpu_s") for case in cases] for c in clients})


# --------------------------------------------------------------------------- tables

def summary_table(summary: dict, order: list[str], who: str, columns: list[tuple[str, str, str]],
                  by_case: bool = False) -> str:
    """One line per (who, case): grouped by `who` in `order`, or by case (by_case) with `who` in `order` inside."""
    head = "| " + " | ".join([who, "case", "ok runs"] + [title for title, _, _ in columns]) + " |"
    rule = "|" + "|".join("---" for _ in range(len(columns) + 3)) + "|"
    body = []
    keys = [key for name in order for key in summary if key[0] == name]
    if by_case:
        cases = list(dict.fromkeys(case for _, case in keys))
        keys = sorted(keys, key=lambda k: (cases.index(k[1]), order.index(k[0])))
    for n, case in keys:
        entry = summary[(n, case)]
        cells = [n, case, f"{entry['ok']}/{entry['runs']}"]
        cells += [fmt_spread(entry.get(key), spec) for _, key, spec in columns]
        body.append("| " + " | ".join(cells) + " |")
    errors = [f"- {n} {case} {err}".replace("\n", " ")[:300] for (n, case), e in summary.items() for err in e["errors"]]
    return "\n".join([head, rule, *body] + (["", "Failed runs:", "", *errors] if errors else []))


def regression_table(summary: dict, current: str = "fjord", baseline: str = "fjord-baseline") -> str:
    head = ["case", f"{current} CPU ms/MB", f"{baseline} CPU ms/MB", "change of the median", "ranges overlap",
            f"{current} msgs/s", f"{baseline} msgs/s"]
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    for (name, case), cur in summary.items():
        if name != current:
            continue
        base = summary.get((baseline, case), {})
        c, b = cur.get("cpu_ms_per_mb"), base.get("cpu_ms_per_mb")
        change = overlap = "—"
        if c and b:
            change = f"{(c['median'] / b['median'] - 1) * 100:+.0f}%"
            overlap = "yes" if c["min"] <= b["max"] and b["min"] <= c["max"] else "no"
        out.append("| " + " | ".join([case, fmt_spread(c, ".2f"), fmt_spread(b, ".2f"), change, overlap,
                                      fmt_spread(cur.get("msgs_per_s"), ",.0f"),
                                      fmt_spread(base.get("msgs_per_s"), ",.0f")]) + " |")
    return "\n".join(out)


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
            if key == "repetition" and v is not None:
                v += 1
            cells.append("—" if v is None else (format(v, spec) if spec else str(v)).replace("|", "/")[:160])
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *body])


def header(broker_doc: dict, client_doc: dict | None, date: str) -> list[str]:
    machine = broker_doc.get("machine", {})
    args = broker_doc.get("args", {})
    repeat = args.get("repeat", 1)
    load = machine.get("loadavg_at_start")
    lines = [f"# Benchmark results {date}", "",
             f"Run started {broker_doc.get('started', '?')} on {machine.get('nproc', '?')} CPUs "
             f"({machine.get('cpu_model', '?')}, kernel {machine.get('kernel', '?')}), load average at the start "
             f"{', '.join(f'{x:.2f}' for x in load) if load else '?'}; command: `make bench`"
             f"{' (--quick: 1/10 of the counts)' if args.get('quick') else ''}. Every case ran {repeat} time"
             f"{'s' if repeat != 1 else ''}; figures are medians, with the min–max spread in brackets. "
             "Numbers compare brokers within this run only.", ""]
    builds = machine.get("builds", {})
    for name, build in builds.items():
        if name == "tansu":
            lines.append(f"- **tansu**: `{build.get('version') or '?'}` from the `{build.get('wheel') or '?'}` wheel "
                         f"(its Tansu build {build.get('wheel_tansu_version') or '?'}; NOTICE: source "
                         f"{build.get('notice_source') or '?'}, built with `{build.get('notice_build') or '?'}`), "
                         "storage engine `memory://`: it keeps every record in memory and writes nothing to disk.")
        else:
            lines.append(f"- **{name}**: `{build.get('binary')}`, built from {build.get('git_describe') or '?'} "
                         f"({build.get('commit') or '?'}); writes every record to its log on disk (no fsync per "
                         "produce, as Kafka's default).")
    if machine:
        limits = ""
        if machine.get("loopback_tcp_mb_per_s"):
            limits = (f"; machine limits: loopback TCP {machine['loopback_tcp_mb_per_s']} MB/s, "
                      f"disk write+fsync {machine.get('disk_write_fsync_mb_per_s', '?')} MB/s")
        lines.append(f"- broker bench client: confluent-kafka {machine.get('confluent_kafka')} "
                     f"(librdkafka {machine.get('librdkafka')}){limits}")
    if client_doc and client_doc.get("facts"):
        facts = client_doc["facts"]
        startup = facts.get("python_startup_cpu_s")
        lines.append(f"- client bench: librdkafka {facts.get('librdkafka') or '?'} driven from C (librdkafka-bench); "
                     f"{facts.get('repeat', '?')} runs per case"
                     + (f"; librdkafka-python pays {startup['median'] * 1e3:.0f} ms of CPU for the interpreter's "
                        "start-up and `import confluent_kafka` per run" if startup else ""))
    return lines + [""]


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
    brokers = broker_doc.get("args", {}).get("brokers") or ordered((r["broker"] for r in broker_doc["rows"]), "fjord")
    broker_summary = summarize(broker_doc["rows"], "broker", BROKER_KEYS)
    charts = broker_charts(broker_summary, brokers)
    client_doc = json.loads(Path(args.client).read_text()) if args.client else None
    clients: list[str] = []
    client_summary: dict = {}
    if client_doc:
        clients = ordered((r["client"] for r in client_doc["rows"]), "fjordclient")
        client_summary = summarize(client_doc["rows"], "client", CLIENT_KEYS)
        charts["client"] = client_chart(client_summary, clients)
    for name, svg in charts.items():
        (out / f"{args.date}-{name}.svg").write_text(svg)
    lines = header(broker_doc, client_doc, args.date)
    for name in charts:
        lines += [f"![{name}]({args.date}-{name}.svg)", ""]
    lines += ["## Broker cases (median and min–max)", "", summary_table(broker_summary, brokers, "broker", [
        ("msgs/s", "msgs_per_s", ",.0f"), ("MB/s", "mb_per_s", ".1f"), ("CPU ms/MB", "cpu_ms_per_mb", ".2f"),
        ("CPU µs/msg", "cpu_us_per_msg", ".3f"), ("idle RSS MiB", "idle_rss_mib", ".1f"),
        ("peak RSS MiB", "case_peak_rss_mib", ".1f"), ("p50 ms", "p50_ms", ".2f"), ("p99 ms", "p99_ms", ".2f"),
        ("p99.9 ms", "p999_ms", ".2f")]), ""]
    if "fjord" in brokers and "fjord-baseline" in brokers:
        lines += ["## Regression check: fjord against fjord-baseline (same run)", "",
                  "If the min–max ranges overlap, the change is within the run-to-run spread of this run.", "",
                  regression_table(broker_summary), ""]
    if client_doc:
        lines += ["## Client cases (median and min–max)", "", summary_table(client_summary, clients, "client", [
            ("msgs/s", "msgs_per_s", ",.0f"), ("client CPU s", "client_cpu_s", ".3f"),
            ("msgs per client CPU s", "msgs_per_client_cpu_s", ",.0f"), ("CPU µs/msg", "cpu_us_per_msg", ".2f")],
            by_case=True), ""]
    lines += ["## Every broker run", "", table(broker_doc["rows"], [
        ("broker", "broker", ""), ("case", "case", ""), ("run", "repetition", ""), ("status", "status", ""),
        ("msgs/s", "msgs_per_s", ",.0f"), ("CPU ms/MB", "cpu_ms_per_mb", ".2f"), ("broker CPU s", "broker_cpu_s", ".3f"),
        ("CPU s (10 ms ticks)", "broker_cpu_s_ticks", ".2f"), ("peak RSS MiB", "case_peak_rss_mib", ".1f"),
        ("p50 ms", "latency.p50_ms", ".2f"), ("p99 ms", "latency.p99_ms", ".2f"), ("load 1m", "loadavg_1m_before", ".2f"),
        ("error", "error", "")]), ""]
    if client_doc:
        lines += ["## Every client run", "", table(client_doc["rows"], [
            ("client", "client", ""), ("case", "case", ""), ("run", "repetition", ""), ("status", "status", ""),
            ("msgs/s", "msgs_per_s", ",.0f"), ("client CPU s", "client_cpu_s", ".3f"),
            ("msgs per client CPU s", "msgs_per_client_cpu_s", ",.0f"), ("error", "error", "")]), ""]
    report = out / f"{args.date}.md"
    report.write_text("\n".join(lines))
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
