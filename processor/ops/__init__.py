"""Operations around a run: the report, the dry run, progress, the webhook, the runs table."""
