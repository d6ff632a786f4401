"""opsbot: the Bolt app and its plumbing (settings, AWS, Slack delivery, state, HTTP, jobs)."""
