"""Accountability reports: metrics, league table, charts, the official report and its exports."""
