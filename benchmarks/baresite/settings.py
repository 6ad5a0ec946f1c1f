"""despp.settings plus the bare-insert endpoint; only bench_intake's server uses this."""

from despp.settings import *  # noqa: F403
from despp.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "benchmarks.baresite"]
ROOT_URLCONF = "benchmarks.baresite.urls"
