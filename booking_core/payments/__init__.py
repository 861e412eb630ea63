"""The payment provider port and the inbox of provider events."""
