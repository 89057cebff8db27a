#!/bin/sh
curl "https://fra1.blynk.cloud/external/api/update?token=TKmucF7xw4on2VcQrXhbU-rDZO4lKuvf&V1=1"
