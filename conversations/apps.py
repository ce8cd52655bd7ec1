from django.apps import AppConfig


class ConversationsConfig(AppConfig):
    name = "conversations"
    verbose_name = "Conversation review"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from conversations.login import forget_login_failures

        user_logged_in.connect(forget_login_failures, dispatch_uid="forget_login_failures")
