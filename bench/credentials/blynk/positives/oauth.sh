#!/bin/sh
curl -X POST https://fra1.blynk.cloud/oauth2/token?grant_type=client_credentials \
  -u oa2-client-id_pNct8Ic7G-qmB1assjz_tSEu-8w6e8_G:R3hpltIqk7z_vVBX7sePQX1G6_RsXIskpsdx4ClD
