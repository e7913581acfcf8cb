"""Sources: find the input files (folders, object storage and HTTP, archives, compression), read them in
batches, split big ones."""
