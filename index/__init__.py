"""Storage: one ListingStore contract (index.store), two backends (SQLite default, Elasticsearch)."""
