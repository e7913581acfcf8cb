"""Load: the tasks a worker runs (profile a file, load a file), converting each chunk to its planned types."""
