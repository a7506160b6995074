"""Preprocessing pipelines: a step's spec and kinds (`spec`), the kinds themselves (`library`), the runner, presets,
the export to a script and the memory a step needs."""
