"""Connected cinemas: the port to their own ticketing systems, their shows and seat status."""
