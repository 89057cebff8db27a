tavily_key = "tvly-abc123"
