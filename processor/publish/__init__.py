"""Publish: the staging table, the one-step publish into the target, and the ledger of files loaded."""
