"""The public HTTP API: route table, auth, rate limits, JSON:API documents and errors."""
