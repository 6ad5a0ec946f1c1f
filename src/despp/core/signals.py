"""Receivers that write the access audit for authentication events."""
