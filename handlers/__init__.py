"""The use cases: file, decide, withdraw, revoke, comment, sweep overdue steps, away and
reassign, and the queries behind the views.

Each takes the services, a plain Actor and a frozen command, enforces policy and permissions,
writes state + audit + outbox in ONE transaction, and returns a result. No platform SDK here.
"""
