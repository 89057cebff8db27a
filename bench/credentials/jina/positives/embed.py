import requests

HEADERS = {
    'Content-Type': 'application/json',
    'Authorization': 'Bearer jina_ae9171db2509355545c0b06c0d8aedc2aO7WEEIEZCw58D4KeG3svAF5vZtV',
}
requests.post('https://api.jina.ai/v1/embeddings', headers=HEADERS, json={'model': 'jina-embeddings-v3', 'input': ['hi']})
