import os
from tavily import TavilyClient

client = TavilyClient(api_key=os.environ['TAVILY_API_KEY'])
