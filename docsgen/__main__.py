"""``python -m docsgen NAME``: print a generated part (openapi, settings, benchmarks)."""

from __future__ import annotations

import sys
from pathlib import Path

from docsgen import render

if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m docsgen openapi|settings|benchmarks", file=sys.stderr)
        sys.exit(2)
    print(render(sys.argv[1], Path(__file__).resolve().parents[1]))
