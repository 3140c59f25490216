"""Use cases: the one path from the API, CLI, jobs and pipeline to storage."""
