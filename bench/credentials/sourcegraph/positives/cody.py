import requests

SG_TOKEN = "sgp_472fe2a210c79d65_b07f01ef34eaa41d5ec64f5e6a7c6c505fef7a92"
resp = requests.post('https://sourcegraph.acme.example/.api/graphql',
                     headers={'Authorization': f'token {SG_TOKEN}'}, json={'query': '{ site { productVersion } }'})
