"""Statistics (issue #8): the dashboard and report builder (stats/builder_urls.py), emerging patterns
(stats/patterns_urls.py) and the standard outputs (stats/standard_urls.py) share one namespace."""

from stats import builder_urls, patterns_urls, standard_urls

app_name = "stats"

urlpatterns = [*builder_urls.urlpatterns, *patterns_urls.urlpatterns, *standard_urls.urlpatterns]
