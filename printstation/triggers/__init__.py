"""Triggers: what makes labels print without a CLI call — the hot folder, barcode scanners,
marketplace syncs (WB, Ozon) and the webhook listener, with their trigger state (SQLite or the
shared PostgreSQL database). The daemon starts them through :func:`printstation.triggers.service.daemon_service`."""
