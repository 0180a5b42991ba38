from django.http import HttpResponse


def case_care(request, case_pk):  # replaced by the victim care work (issue #4)
    return HttpResponse("Victim care under construction", status=503)
