#!/usr/bin/env python3
"""A protocol client that reads its requests and never answers: lockstorm
must give up on it after the op timeout, with exit 4, never hang."""
import sys

for _ in sys.stdin:
    pass
