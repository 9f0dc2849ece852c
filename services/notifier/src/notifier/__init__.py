"""REX notifier: budget events to email and Slack, each delivered once and retried durably."""
