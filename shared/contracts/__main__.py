"""The event contracts for integrators in any language.

    python -m shared.contracts          # every event's JSON Schema (a JSON list) on stdout
    python -m shared.contracts write    # regenerate docs/contracts/events/*.json and
                                        # docs/asyncapi.yaml (a unit test fails when stale)
"""
from __future__ import annotations

import json
import sys

from shared.contracts import asyncapi, json_schema
from shared.contracts.json_schema import all_schemas  # noqa: F401  (the tests' import)


def main(argv: list[str]) -> int:
    if argv[:1] == ["write"]:
        names = json_schema.write()
        asyncapi.write()
        print(f"wrote {len(names)} schemas to {json_schema.EVENTS_DIR.relative_to(json_schema.ROOT)}"
              f" and {asyncapi.ASYNCAPI_FILE.relative_to(json_schema.ROOT)}")
        return 0
    if argv:
        print(__doc__, file=sys.stderr)
        return 2
    print(json.dumps(all_schemas(), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
