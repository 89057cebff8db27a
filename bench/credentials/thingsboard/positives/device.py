from tb_device_mqtt import TBDeviceMqttClient

client = TBDeviceMqttClient('thingsboard.cloud', username='3nkymiu83xxwcvak8nq2')
client.connect()
