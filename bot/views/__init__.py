"""Pure builders of what the bot shows: texts (Telegram HTML) and inline keyboards, testable offline."""
