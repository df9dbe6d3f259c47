"""Flask for the monitor: pages for test calls and reports, provider webhooks. No SQL here."""
