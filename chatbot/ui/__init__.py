"""What the user sees: handlers grouped by what the user does, and the words of every reply."""
