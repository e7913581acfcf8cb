"""Plan: profile the files, choose each column's type, read schema files, map columns to the table."""
