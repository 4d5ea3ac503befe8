"""Procurement exception policy: the pure domain of the approvals bot.

Load a policy file with `policy.loader.load_policy`, check a request with
`policy.evaluate.request_problems`, and decide what happens to it with
`policy.evaluate.evaluate`. Routing (`policy.routing`) and segregation of duties
(`policy.sod`) are plain functions of a `policy.model.Policy`. Nothing here does I/O (except
the loader reading its file), reads the clock or imports a framework.
"""
