#!/bin/sh
az storage blob upload --account-name contosobackup --account-key 'roVnW3hCZr6+PMlnNopqfzkQtT3kbQJoJ3V0S1dwJaXkDfb8BMpH9mzP7ukdETr8kV9BtApmLYWbRzhNDkQOEQ==' \
  --container-name db --file /backup/db.dump --name db.dump
