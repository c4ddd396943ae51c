"""The review and investigation web app: FastAPI, server-rendered Jinja2, a small own JS file, a REST API."""
