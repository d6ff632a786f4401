"""/tail and the log forwarder: Lambda logs in Slack, grouped per invocation, none lost.

This package holds the pure core so far: paging and de-duplication (`events`), the two Lambda
log formats (`lambda_format`) and grouping per invocation (`invocations`), subscription payloads
(`subscription`), packing into Slack-sized chunks (`pack`) and text rendering (`render_text`).
The command, follow mode, the forwarder and the poller wire these to Slack and AWS later.
"""
