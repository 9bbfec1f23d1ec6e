"""Model providers: configured LLM endpoints (OpenAI, Anthropic, OpenAI-compatible servers) and the
small model interface every caller (completions, agents) speaks."""
