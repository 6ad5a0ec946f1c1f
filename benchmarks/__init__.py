"""Speed and memory targets, measured against named baselines (run with `make bench`)."""
