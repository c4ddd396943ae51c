"""HTML pages (Jinja2) and the REST API (/api). Both call the same workflow modules."""
