#!/usr/bin/env python3
"""A protocol client that crashes before it answers init, as one whose
lock library is missing does. lockstorm must stop with exit 4 and say
what the client wrote on stderr."""
import sys

print("Traceback (most recent call last):", file=sys.stderr)
print("ModuleNotFoundError: No module named 'mylock'", file=sys.stderr)
sys.exit(1)
