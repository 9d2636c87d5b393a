"""Service functions shared by every interface (CLI, REST, MCP): verbs with keyword arguments."""
