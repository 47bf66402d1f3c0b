"""What the tests, the chaos run (tools/chaos.py) and the benchmark (bench/)
all need to act as the system's users: an HTTP client with a bearer token
(`client`), a valid credit code (`codes`), a report as a company files it
(`reports`), an organisation set up through intake's admin routes
(`organisation`) and a company's webhook receiver (`receiver`).

One copy of each, so the three agree on what a user does. What only the
tests need (polling, a tap on the broker, fixtures) stays under tests/.
"""
