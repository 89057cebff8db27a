#!/bin/sh
echo '77#14LOa@l--A#0ZRZeukr' > /srv/ansible/.vault_pass
ansible-playbook -i inventory site.yml --vault-password-file /srv/ansible/.vault_pass
