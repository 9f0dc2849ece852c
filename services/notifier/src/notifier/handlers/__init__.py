"""Every use case of the notifier, HTTP-free: refusals raise rex_shared.errors."""
