"""Chat-free use cases of Relance: the day's digest, every reminder action, the queries behind the status
screens, imports, disputes, the evidence export, settings changes and the outbox worker.

Rule: a service takes a business context (business id, clock, ladder, sender identity, rate table, renderer,
transport) and an actor, and returns plain results (what happened, the facts, the data to show): no HTML, no
translations, no button data, no environment. Services use `storage` (persistence), `messages` (rendering and
transports) and `dunning` (policy); they never import `bot`.
"""
