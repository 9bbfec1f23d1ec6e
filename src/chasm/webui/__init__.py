"""The web dashboard: the built single-page app (web/ -> dist/) served at `/`, and its loopback sign-in."""
