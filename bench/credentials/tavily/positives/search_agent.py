from tavily import TavilyClient

client = TavilyClient(api_key="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")
print(client.search('container image secrets'))
