"""``python -m tests.chaos [--short]``: the fault-injection run, its figures and verdict.

Exit status 0 when everything held; 1 with a line per breach otherwise."""
from __future__ import annotations

import argparse
import sys
from datetime import date

from tests.chaos.scenario import FULL, SHORT, figures, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.chaos", description=__doc__)
    parser.add_argument("--short", action="store_true",
                        help="the short version make test runs (10 s broker stop, fewer requests)")
    args = parser.parse_args(argv)
    plan = SHORT if args.short else FULL
    result = run(plan, sys.stdout)
    print(f"\nFault injection, {'short' if args.short else 'full'} run, {date.today()}:")
    print(figures(result))
    if result.failures:
        print(f"\nFAILED ({len(result.failures)}):")
        for failure in result.failures:
            print(f"  - {failure}")
        return 1
    print("\nall held: every 201 has one event, no 503 was carried out, no process exited "
          "on its own, no dead letters, ready again in time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
