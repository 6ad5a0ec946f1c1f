"""DESPP platform: 911/CAD, State Police records, training and certification, forensics,
emergency management and the public services hub of a state public-safety department."""
