import aiohttp
from aio_pika import connect_robust

async def aio_handler(request):
    return aiohttp.web.Response(text='ok')
