"""`make bench`: the figures of issues 3 and 9 (see bench/README.md). A benchmark, not a test."""
