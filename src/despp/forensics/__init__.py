"""Forensic laboratory: submissions, items, chain of custody, lab requests, reviews, reports."""
