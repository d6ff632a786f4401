"""Slack: the Bolt app, the one way out (delivery), Block Kit."""
