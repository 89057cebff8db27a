import requests
TOKEN = 'dp.audit.kexBCFrHyHg8xUdDvDFQZEZdqJs1JRcsZYdbbv0vlgj'
requests.get('https://api.doppler.com/v3/workplace/logs', headers={'Authorization': f'Bearer {TOKEN}'})
