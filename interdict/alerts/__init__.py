"""Notifications: rules in the app DB (rules), what they fire on (events), where alerts go (channels), and the
at-least-once evaluator `interdict alerts run` drives after each crawl (deliver). See interdict/alerts/README.md."""
