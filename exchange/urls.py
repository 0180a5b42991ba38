"""Data exchange (issue #8): the HTCDS import and export (exchange/htcds_urls.py) and the anonymised CTDC
export for the regional network (exchange/ctdc_urls.py) share one namespace."""

from exchange import ctdc_urls, htcds_urls

app_name = "exchange"

urlpatterns = [*htcds_urls.urlpatterns, *ctdc_urls.urlpatterns]
