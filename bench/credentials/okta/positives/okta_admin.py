from okta.client import Client as OktaClient

config = {
    'orgUrl': 'https://acme.okta.com',
    'token': '00RgayYeJ6WfzYH3OAyTiUbVt7SZuIW0NiSWusffLI',
}
client = OktaClient(config)
