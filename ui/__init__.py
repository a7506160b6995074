"""Streamlit glue shared by the pages: session state, cached resources, sidebar, error display."""
