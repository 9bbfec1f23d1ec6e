from sessions.fixtures import app, live, sandbox, settings  # noqa: F401
