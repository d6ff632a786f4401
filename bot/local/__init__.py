"""The local peers, never imported by production code: the Slack stand-in, moto, demo seeds, the demo."""
