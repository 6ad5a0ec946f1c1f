from django.urls import path

from benchmarks.baresite.views import insert_one
from despp.urls import urlpatterns as despp_urlpatterns

urlpatterns = [path("bench/bare-insert", insert_one), *despp_urlpatterns]
