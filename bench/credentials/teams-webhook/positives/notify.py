import requests
WEBHOOK = 'https://acme.webhook.office.com/webhookb2/d92393ee-0fad-4d89-affd-b5db7b218bc8@09199525-2b59-4c33-9006-55341821ca77/IncomingWebhook/08995fd2152b951063da0b15e295a25f/44f3d583-8363-41c1-9aa8-fff2680c08e3/V2381WbVU5HstRv5Z-b_LLyUdM5OUqb-h9vvk1vEJP1qN'
requests.post(WEBHOOK, json={'text': 'deploy done'})
