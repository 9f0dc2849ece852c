"""Pure notifier logic: delivery states, retry schedule, message view models."""
