"""911 call intake and computer-aided dispatch: calls, incidents, units, response plans, console."""
