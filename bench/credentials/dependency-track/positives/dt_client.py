DTRACK_URL = 'https://dtrack.acme.example'
DTRACK_API_KEY = 'odt_ho2RHQ7wtpELKAH339AaWDKd9n9R6pKT'
HEADERS = {'X-Api-Key': DTRACK_API_KEY}
