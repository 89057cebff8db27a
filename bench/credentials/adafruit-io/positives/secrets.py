secrets = {
    'ssid': 'lab',
    'aio_username': 'greenhouse_lab',
    'aio_key': 'aio_LSz62lBvpygVyRybgEVWzL77rvwm',
}
