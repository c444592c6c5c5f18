"""Speed and scale measurements. Run them all with `python3 -m benchmarks`."""
