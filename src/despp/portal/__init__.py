"""The public services hub: the department's six divisions as a real, accessible site."""
