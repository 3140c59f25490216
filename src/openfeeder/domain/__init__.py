"""Pure types and rules: ids, lead quality, feed criteria, errors. No I/O here."""
