from django.http import HttpResponse


def referral_list(request):  # replaced by the referrals work (issue #5)
    return HttpResponse("Referrals under construction", status=503)
