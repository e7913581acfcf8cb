"""Sources: find the input files (folders, archives, compression), read them in batches, split big ones."""
