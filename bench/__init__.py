"""`make bench`: the five figures of issue 3 (see bench/README.md). A benchmark, not a test."""
