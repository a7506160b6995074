"""The CPU-vs-GPU benchmark: db-benchmark questions, io, pipeline steps and profiles, with CPU peers."""
