from .base import *

SECRET_KEY = "lk2odb1alymcfd7bod&!@uhs2(&=t+b!*b2&%5vdaiojxbi*9&"
