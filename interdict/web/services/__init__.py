"""What the routes do beyond reading a request and answering it: bulk review actions, the audit trail a caller
may see, the dashboard's figures, takedown batches. Plain functions over the store, shared by the API and the
HTML pages, so neither imports the other."""
