"""I/O: the deliveries table, SMTP and Slack channels, template rendering."""
