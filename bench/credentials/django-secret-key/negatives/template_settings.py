SECRET_KEY = '<your-secret-key>'
