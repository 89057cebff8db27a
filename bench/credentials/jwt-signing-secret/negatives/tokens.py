import jwt
from django.conf import settings

def issue(uid):
    return jwt.encode({'sub': uid}, settings.SECRET_KEY, algorithm='HS256')
