#!/usr/bin/env python3
"""Medians of bench/curves.sh's runs: rewrites the figures between the
markers in docs/performance.md and draws docs/performance.svg with gnuplot.

    python3 bench/curves.py bench/results/curves.tsv
"""
import csv
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "performance.md"
SVG = ROOT / "docs" / "performance.svg"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"
TABLE_AT = 32
# Each Tessera path and the floor doing only its irreducible work.
FLOORS = {
    "healthz": "floor hello",
    "get-user existing": "floor GET+sign",
    "get-user new group": "floor GET+sign",
    "verify fresh": "floor GET+verify",
    "verify repeated": "floor GET",
    "refresh": "floor GET+sign",
    "middleware fresh": "floor verify",
    "middleware cached": "floor hello",
}
CHARTED = ["healthz", "get-user existing", "verify fresh", "verify repeated",
           "middleware fresh", "middleware cached"]


def main(path):
    lines = Path(path).read_text().splitlines()
    header = lines[0].lstrip("# ")
    runs = {}
    for row in csv.DictReader(lines[1:], delimiter="\t"):
        key = (row["path"], int(row["connections"]))
        runs.setdefault(key, []).append(row)
    med = {
        key: {field: statistics.median(float(r[field]) for r in rows)
              for field in ("rps", "p50_ms", "p99_ms")} | {"runs": len(rows)}
        for key, rows in runs.items()
    }
    connections = sorted({c for _, c in med})
    nruns = min(m["runs"] for m in med.values())

    out = [BEGIN, "",
           f"Measured {header}; medians of {nruns} runs, {TABLE_AT} connections.", "",
           "| path | req/s | p50 ms | p99 ms | floor | ratio to floor | ratio to `/healthz` |",
           "|---|---:|---:|---:|---|---:|---:|"]
    health = med[("healthz", TABLE_AT)]["rps"]
    for name, floor in FLOORS.items():
        m = med[(name, TABLE_AT)]
        f = med[(floor, TABLE_AT)]["rps"]
        out.append(f"| {name} | {m['rps']:,.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
                   f"{floor} ({f:,.0f}) | {m['rps'] / f:.2f} | {m['rps'] / health:.2f} |")
    out += ["", "Throughput (req/s) and p99 (ms) by connections:", "",
            "| path | " + " | ".join(f"c={c}" for c in connections) + " |",
            "|---|" + "---:|" * len(connections)]
    names = list(FLOORS) + sorted({n for n, _ in med} - set(FLOORS))
    for name in names:
        cells = [f"{med[(name, c)]['rps']:,.0f} / {med[(name, c)]['p99_ms']:.2f}"
                 for c in connections]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out += ["", "![Throughput and p99 against connections](performance.svg)", "", END]

    text = DOC.read_text()
    start, end = text.index(BEGIN), text.index(END) + len(END)
    DOC.write_text(text[:start] + "\n".join(out) + text[end:])

    data = ROOT / "bench" / "results" / "curves.dat"
    with data.open("w") as f:
        for name in CHARTED:
            f.write(f'"{name}"\n')
            for c in connections:
                m = med[(name, c)]
                f.write(f"{c} {m['rps']:.0f} {m['p99_ms']:.3f}\n")
            f.write("\n\n")
    plots = lambda col: ", ".join(  # noqa: E731
        f"'{data}' index {i} using 1:{col} with linespoints title columnheader(1)"
        for i in range(len(CHARTED)))
    script = f"""
set terminal svg size 1000,480 dynamic font 'sans,11' background '#ffffff'
set output '{SVG}'
set multiplot layout 1,2 title "{header}"
set logscale x 2
set xtics ({", ".join(str(c) for c in connections)})
set xlabel 'connections'
set key below
set xrange [0.8:160]
set grid
set ylabel 'requests per second'
set format y '%.0s%c'
plot {plots(2)}
set ylabel 'p99 latency (ms)'
set logscale y 10
set format y '%g'
plot {plots(3)}
unset multiplot
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    print(f"wrote {DOC.relative_to(ROOT)} and {SVG.relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1])
