"""Slack: Bolt (AsyncApp) on the project's aiohttp server, or Socket Mode.

Payloads become an Actor and a command here; handlers never see Slack.
"""
