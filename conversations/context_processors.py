from django.conf import settings


def workspace(request):
    return {"demo_workspace": settings.XUNA_DEMO}
