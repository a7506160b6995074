"""Every step kind, registered in `pipeline.steps.spec.STEP_KINDS` by importing this module.

Each family of kinds has a module of its own (columns, rows, values, encoding, combine); a kind is one
`StepKind` there, holding its checks, its one implementation for every engine, its code for an exported
script, its memory factor and its form. Implementations use the API pandas and cuDF share; where they differ
the code says why. Randomness (sample, train/test split) comes from `CounterRandom`, so every engine picks the
same rows.
"""

from pipeline.steps import columns, combine, encoding, rows, values

FAMILIES = (columns, rows, values, encoding, combine)
