import os

SECRET_KEY = os.environ.get('SECRET_KEY', 's4#mrov!0g%xwqu2=uvc&00@)dwbj!)qf#b5$om#x4(e+i5b0z')
