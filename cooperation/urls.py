from django.urls import path

from cooperation import views

app_name = "cooperation"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("inbox/", views.inbox, name="inbox"),
    path("peers/", views.peers, name="peers"),
    path("peers/<int:pk>/", views.peer_edit, name="peer_edit"),
    path("peers/<int:pk>/active/", views.peer_active, name="peer_active"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/send/", views.send, name="send"),
    path("<int:pk>/review/", views.review, name="review"),
    path("<int:pk>/reply/", views.reply, name="reply"),
    path("<int:pk>/decline/", views.decline, name="decline"),
    path("<int:pk>/close/", views.close, name="close"),
    path("<int:pk>/messages/<int:message_pk>/retry/", views.retry, name="retry"),
]
