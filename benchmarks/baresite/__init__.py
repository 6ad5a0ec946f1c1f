"""A benchmark-only Django app: one endpoint that inserts one row, served by the same server and
middleware as the real API, so bench_intake can print how far the 911 intake path is from
"Django writing a row". Mounted only by benchmarks.baresite.settings, never by despp.urls."""
