from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="case_list"),
    path("<int:pk>/", views.case_detail, name="case_detail"),
    path("<int:pk>/timeline/", views.case_timeline, name="case_timeline"),
    path("<int:pk>/break-glass/", views.case_break_glass, name="break_glass"),
    path("<int:pk>/close/", views.case_close, name="case_close"),
    path("<int:pk>/reopen/", views.case_reopen, name="case_reopen"),
    path("<int:pk>/team/", views.case_team, name="case_team"),
    path("<int:pk>/team/add/", views.team_add, name="team_add"),
    path("<int:pk>/team/<int:member_pk>/remove/", views.team_remove, name="team_remove"),
    path("<int:pk>/shares/add/", views.share_add, name="share_add"),
    path("<int:pk>/shares/<int:share_pk>/revoke/", views.share_revoke, name="share_revoke"),
    path("<int:pk>/people/add/", views.person_add, name="person_add"),
    path("<int:pk>/people/<int:link_pk>/", views.person_detail, name="person_detail"),
    path("<int:pk>/people/<int:link_pk>/edit/", views.person_edit, name="person_edit"),
    path("<int:pk>/people/<int:link_pk>/profile/", views.profile_edit, name="profile_edit"),
    path("<int:pk>/people/<int:link_pk>/aliases/add/", views.alias_add, name="alias_add"),
    path("<int:pk>/people/<int:link_pk>/aliases/<int:alias_pk>/remove/", views.alias_remove, name="alias_remove"),
    path("<int:pk>/people/<int:link_pk>/identifiers/add/", views.identifier_add, name="person_identifier_add"),
    path("<int:pk>/people/<int:link_pk>/attachments/add/", views.attachment_add, name="person_attachment_add"),
    path("<int:pk>/identifiers/add/", views.identifier_add, name="identifier_add"),
    path("<int:pk>/identifiers/<int:identifier_pk>/remove/", views.identifier_remove, name="identifier_remove"),
    path("<int:pk>/places/add/", views.place_add, name="place_add"),
    path("<int:pk>/places/<int:place_pk>/remove/", views.place_remove, name="place_remove"),
    path("<int:pk>/notes/add/", views.note_add, name="note_add"),
    path("<int:pk>/attachments/add/", views.attachment_add, name="attachment_add"),
    path("<int:pk>/attachments/<int:attachment_pk>/", views.attachment_download, name="attachment_download"),
]
