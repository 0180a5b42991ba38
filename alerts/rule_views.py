from django.http import HttpResponse


def rule_list(request):  # replaced by the alert rules work (issue #3)
    return HttpResponse("Alert rules under construction", status=503)
