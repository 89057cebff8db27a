import jwt

def issue(uid):
    return jwt.encode({'sub': uid}, 'qwS3eBaC5sXO871PyQgOZORnDXu4z2ApEZs7A7gmmTCmkvuJ', algorithm='HS256')
