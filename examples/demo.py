"""The demo behind `make demo`: 50,000 customers → named, stable segments, a report, SQLite.

Generates the project's sample customer table (five real segments; a few values missing
on purpose), writes it as CSV, and runs the real command on it:

    centroids segment demo-output/customers.csv --id-column customer_id \\
        --db sqlite:///demo-output/segments.db --report demo-output/report.html \\
        --out demo-output/labels.csv

Run it again and the new version's segments keep their ids (matched to the last version).
"""

import subprocess
import sys
import time
from pathlib import Path

from centroids.datasets import make_customers

OUTPUT = Path("demo-output")


def main():
    OUTPUT.mkdir(exist_ok=True)
    customers = make_customers(50_000, missing_rate=0.001, random_state=0)
    data = OUTPUT / "customers.csv"
    customers.to_csv(data, index=False)
    print(f"Wrote {len(customers):,} customers to {data}: {', '.join(customers.columns)}")
    command = [
        sys.executable, "-m", "centroids", "segment", str(data),
        "--id-column", "customer_id",
        "--db", f"sqlite:///{OUTPUT / 'segments.db'}",
        "--report", str(OUTPUT / "report.html"),
        "--out", str(OUTPUT / "labels.csv"),
    ]  # fmt: skip
    print("$ centroids " + " ".join(command[3:]), flush=True)
    started = time.perf_counter()
    completed = subprocess.run(command, check=False)
    if completed.returncode != 0:
        sys.exit(completed.returncode)
    print(
        f"\nDone in {time.perf_counter() - started:.0f} s. "
        f"Open {OUTPUT / 'report.html'} in a browser;"
    )
    print(
        f"the segments are in {OUTPUT / 'segments.db'} (try: .venv/bin/centroids versions "
        f"--db sqlite:///{OUTPUT / 'segments.db'})."
    )


if __name__ == "__main__":
    main()
