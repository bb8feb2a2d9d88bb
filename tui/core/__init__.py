"""gitward's core: reads git hosts and writes with git's protocol. Never imports Textual."""
