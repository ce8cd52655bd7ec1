from django.urls import path

from conversations import (
    analytics_views,
    bulk_views,
    calibration_views,
    comment_views,
    queue_views,
    scorecard_views,
    team_views,
    views,
)

app_name = "conversations"

urlpatterns = [
    path("", views.conversation_list, name="list"),
    path("conversations/<str:conversation_id>/", views.conversation_detail, name="detail"),
    path("conversations/<str:conversation_id>/audio", views.conversation_audio, name="audio"),
    path("conversations/<str:conversation_id>/delete", views.conversation_delete, name="delete"),
    path("conversations/<str:conversation_id>/review", views.conversation_review, name="review"),
    path(
        "conversations/<str:conversation_id>/comments",
        comment_views.comment_add,
        name="comments",
    ),
    path("comments/<int:pk>/edit", comment_views.comment_edit, name="comment_edit"),
    path("comments/<int:pk>/delete", comment_views.comment_delete, name="comment_delete"),
    path(
        "conversations/<str:conversation_id>/score",
        scorecard_views.conversation_score,
        name="score",
    ),
    path("scorecards/", scorecard_views.scorecard_list, name="scorecards"),
    path("scorecards/new", scorecard_views.scorecard_new, name="scorecard_new"),
    path(
        "scorecards/<int:scorecard_id>/edit", scorecard_views.scorecard_edit, name="scorecard_edit"
    ),
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
    path("team/", team_views.team_list, name="team"),
    path("team/add", team_views.team_add, name="team_add"),
    path("team/<int:pk>/role", team_views.team_role, name="team_role"),
    path("team/<int:pk>/deactivate", team_views.team_deactivate, name="team_deactivate"),
    path("team/<int:pk>/reactivate", team_views.team_reactivate, name="team_reactivate"),
    path("team/<int:pk>/password", team_views.team_password, name="team_password"),
    path("index/refresh", views.index_refresh, name="index_refresh"),
    path("analytics/", analytics_views.analytics_page, name="analytics"),
    path("analytics/<slug:chart>.csv", analytics_views.analytics_csv, name="analytics_csv"),
    path("queues/", queue_views.queue_list, name="queues"),
    path("queues/new", queue_views.queue_new, name="queue_new"),
    path("queues/<int:pk>/", queue_views.queue_detail, name="queue"),
    path("queues/<int:pk>/next", queue_views.queue_next, name="queue_next"),
    path("queues/<int:pk>/close", queue_views.queue_close, name="queue_close"),
    path("calibration/", calibration_views.calibration_list, name="calibrations"),
    path("calibration/new", calibration_views.calibration_new, name="calibration_new"),
    path("calibration/<int:pk>/", calibration_views.calibration_detail, name="calibration"),
    path(
        "calibration/<int:pk>/close",
        calibration_views.calibration_close,
        name="calibration_close",
    ),
    path(
        "calibration/<int:pk>/<str:conversation_id>/score",
        calibration_views.calibration_score,
        name="calibration_score",
    ),
    path(
        "calibration/<int:pk>/<str:conversation_id>/agreed",
        calibration_views.calibration_agreed,
        name="calibration_agreed",
    ),
]
