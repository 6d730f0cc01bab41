"""Chaos tests: real processes, SIGKILLs, line cuts, Redis restarts (marked ``chaos``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))
sys.path.insert(0, str(Path(__file__).parent))
