from truenas_api_client import Client

with Client('wss://nas01.lan/api/current') as c:
    c.call('auth.login_with_api_key', '33-zZ5y21XA1zpNsn4clwQDlMV2JIdDsCBlPWG829PfhoyPWIsNlsIOQHITwJEGKywD')
    c.call('zfs.snapshot.create', {'dataset': 'tank/apps', 'naming_schema': 'auto-%Y%m%d'})
