"""Bounds of paging parameters: every number a client sends is bounded before it reaches SQL
(an offset past 2^63 was a 500 from the database driver)."""

from __future__ import annotations

MAX_OFFSET = 2**31 - 1  # list routes
MAX_SEARCH_OFFSET = 10_000  # ranked search pages (ranking works through offset + limit results)
MAX_BYTE_OFFSET = 2**62  # positions in a command's output
