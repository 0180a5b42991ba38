from django.http import HttpResponse


def person_search(request):  # replaced by the search work (issue #4)
    return HttpResponse("Person search under construction", status=503)
