"""Tables in: file formats and their readers (sandboxed where a parser could crash), size estimates before
decoding, the column types both engines agree on, bundled and synthetic datasets, and the session's catalog."""
