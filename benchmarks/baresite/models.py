from django.db import models


class BareRow(models.Model):
    """What the bare endpoint writes: about the size of a 911 call's own row."""

    ref = models.CharField(max_length=64)
    lat = models.FloatField()
    lon = models.FloatField()
    note = models.CharField(max_length=400, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.ref
