"""Small Redis-backed memories of the bot: messages to edit, prompts, username."""
