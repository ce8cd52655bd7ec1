from django.urls import path

from conversations import analytics_views, bulk_views, views

app_name = "conversations"

urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("conversations/<str:conversation_id>/", views.conversation_detail, name="detail"),
    path("conversations/<str:conversation_id>/audio", views.conversation_audio, name="audio"),
    path("conversations/<str:conversation_id>/delete", views.conversation_delete, name="delete"),
    path("conversations/<str:conversation_id>/review", views.conversation_review, name="review"),
    path("bulk/", bulk_views.bulk_action, name="bulk"),
    path("bulk/delete", bulk_views.bulk_delete, name="bulk_delete"),
    path("jobs/", bulk_views.job_list, name="jobs"),
    path("jobs/<uuid:job_id>/", bulk_views.job_detail, name="job"),
    path("jobs/<uuid:job_id>/cancel", bulk_views.job_cancel, name="job_cancel"),
    path("export/", views.conversation_export, name="export"),
    path("export/progress", views.export_progress, name="export_progress"),
    path("agents/<str:agent_id>/signed-url", views.agent_signed_url, name="signed_url"),
    path("agents/<str:agent_id>/token", views.agent_token, name="token"),
    path("audit/", views.audit_list, name="audit"),
    path("index/refresh", views.index_refresh, name="index_refresh"),
    path("analytics/", analytics_views.analytics_page, name="analytics"),
    path("analytics/<slug:chart>.csv", analytics_views.analytics_csv, name="analytics_csv"),
]
