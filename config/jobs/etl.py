"""Example job of the deployment config: build one day of the daily_sales asset.

Usage: python3 jobs/etl.py --day YYYY-MM-DD. Replace it with your own job.
"""

import argparse
import sys


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--day", required=True)
    day = parser.parse_args(argv).day
    print(f"daily_sales {day}: built")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
