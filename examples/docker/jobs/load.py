"""Count the rows of one CSV file. Usage: python3 jobs/load.py PATH"""

import sys


def main(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as f:
        rows = max(sum(1 for _ in f) - 1, 0)  # minus the header line
    print(f"loaded {path}: {rows} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
