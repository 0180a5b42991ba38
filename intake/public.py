from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse

from accounts.middleware import mfa_not_required


@login_not_required
@mfa_not_required
def report_form(request):  # replaced by the public form work (issue #3)
    return HttpResponse("Public form under construction", status=503)
