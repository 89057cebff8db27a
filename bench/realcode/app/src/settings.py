"""acme-shop back office settings (the application's own code)."""
import os

DEBUG = False
ALLOWED_HOSTS = ["backoffice.acme.example"]
TIME_ZONE = "Europe/Berlin"

GITHUB_TOKEN = "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"
DB_HOST = os.environ.get("DB_HOST", "db.prod.internal")
DB_USER = "backoffice"
DB_PASSWORD = "Hv7#qR2xLp9!sTm4"

INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "orders"]
