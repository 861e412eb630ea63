"""Bookings in SQL: checkout, payment confirmation, cancellation, customers, theatre sales."""
