from sessions.fixtures import live  # noqa: F401
