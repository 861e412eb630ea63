"""Payment provider adapters (Stripe) and the Stripe webhook format they share."""
