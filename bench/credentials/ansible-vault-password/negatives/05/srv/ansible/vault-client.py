#!/usr/bin/env python3
import keyring
print(keyring.get_password('ansible-vault', 'prod'))
