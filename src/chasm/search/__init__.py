"""Full-text search over chat titles and messages (FTS5 on SQLite, tsvector on PostgreSQL)."""
