from Adafruit_IO import Client
aio = Client('greenhouse_lab', 'aio_QBmiSkc35in6mN78RxIT6b3hHKKy')
aio.send_data('temperature', 21.5)
