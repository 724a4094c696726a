"""Load one CSV file: count its rows and record the count in the output folder.

Usage: python jobs/load_file.py PATH
"""

import csv
import json
import os
import sys
from pathlib import Path


def main(path: str) -> int:
    with open(path, newline="") as f:
        rows = sum(1 for _ in csv.DictReader(f))
    out = Path(os.environ.get("QUICKSTART_OUTPUT", "output")) / "loaded"
    out.mkdir(parents=True, exist_ok=True)
    target = out / (Path(path).stem + ".json")
    # Write then rename, so a reader never sees half a file and a rerun is harmless.
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps({"file": path, "rows": rows}) + "\n")
    tmp.replace(target)
    print(f"loaded {path}: {rows} rows")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: load_file.py PATH")
    sys.exit(main(sys.argv[1]))
