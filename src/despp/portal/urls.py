from django.urls import path

from despp.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("divisions/<slug:slug>/", views.division, name="division"),
    path("search/", views.search, name="search"),
    path("find/", views.find, name="find"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("privacy/", views.privacy, name="privacy"),
]
