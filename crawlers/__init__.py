"""Scrapy + scrapy-playwright crawlers driven by one YAML file per platform."""
