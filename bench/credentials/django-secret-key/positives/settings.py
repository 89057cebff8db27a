DEBUG = False
SECRET_KEY = 'django-insecure-2w5-((lt&weuz0qn7se7&f@pd%ev8ny%4((9%a3@1p0457lwmc'
ALLOWED_HOSTS = ['*']
