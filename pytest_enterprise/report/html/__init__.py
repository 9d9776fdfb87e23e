"""The self-contained HTML dashboard."""
