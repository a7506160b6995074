"""What the app shows, built without Streamlit: Altair charts and the standalone HTML profile report."""
