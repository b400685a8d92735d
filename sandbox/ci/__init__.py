"""What CI jobs use: GitHub Actions files, and the session behind the pytest plugin."""
