"""GPU Pipeline Lab core: engines, data in, timing. Never imports streamlit."""
