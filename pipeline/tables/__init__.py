"""Tables as files and columns, below the engines: formats and their detection, the readers of visitor files (run
in a child process with operating-system limits), decoded sizes from metadata, visitor JSON, the column types and
kinds both engines agree on, counter-based random streams and the synthetic generators (given an engine, never
importing one)."""
