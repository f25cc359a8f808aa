from django.urls import path

from channels_app.widget import views

urlpatterns = [
    path("<slug:slug>/", views.frame, name="widget-frame"),
    path("<slug:slug>/session", views.session, name="widget-session"),
    path("<slug:slug>/upload", views.upload, name="widget-upload"),
    path(
        "<slug:slug>/files/<int:attachment_id>/<str:signature>/",
        views.file,
        name="widget-file",
    ),
]
