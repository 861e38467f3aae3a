"""Updates in and answers out, durably: webhook, journal, polling, rate limits, retries, state."""
