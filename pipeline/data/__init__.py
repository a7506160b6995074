"""Tables onto engines: a visitor's file checked and read (in the sandboxed reader) onto every engine, bundled and
synthetic datasets loaded, and the session's catalog. What files are and how they decode lives one layer down, in
`pipeline.tables`, below the engines."""
