    secret_access_key = 'abcdefg12346+FJQCK'
