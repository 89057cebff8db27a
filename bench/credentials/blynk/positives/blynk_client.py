import requests

requests.get('https://blynk.cloud/external/api/get?token=gSt-hw-E_UyG4WPWYLDDIrjXVMrjfqrh&V5')
