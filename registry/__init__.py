"""The hotline registry: units, their single hotline, change history, accounts, public directory."""
