from azure.identity import ClientSecretCredential

cred = ClientSecretCredential('fc61634f-5048-48b4-84da-daba05e99c13', '59f0b43c-18df-41bf-9f5b-c4ae4cef27ff', 'TWH2Q~_PtCtTUNnbPyLlzXpC6XgMpNUypzPYWyAy')
