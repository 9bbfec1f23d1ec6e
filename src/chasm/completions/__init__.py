"""OpenAI-compatible chat completions: routed to a provider (or, later, an agent), recorded in the
chat library."""
